"""Free loopback ports for the servers that the tests, the benchmarks and `./dev stack` start:
the OS picks each, and the server binds it a moment later (another program may take it in
between; devtools/seaweed.py starts again on new ones when that happens)."""
from __future__ import annotations

import socket
from contextlib import ExitStack, closing


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago (each held until all are
    picked, so none is picked twice)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def free_port() -> int:
    """A loopback port nothing listened on a moment ago."""
    [port] = free_ports(1)
    return port
