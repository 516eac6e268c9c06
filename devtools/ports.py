"""Free loopback ports for the servers that the tests, the benchmarks and `./dev stack` start.

Ports come from below the kernel's ephemeral range: the OS gives ports from that range to every
outgoing connection (to PostgreSQL, to a Prefect server, Chromium's), and one such connection
holding a port a moment after it was picked kept a stack's gunicorn from binding it. Two pickers
may still choose the same port at random; devtools/seaweed.py starts again on new ones when a
server cannot bind."""
from __future__ import annotations

import random
import socket
from contextlib import ExitStack, closing
from pathlib import Path

_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Linux's default ephemeral range, for systems without the file above.
_DEFAULT_EPHEMERAL_RANGE = (32768, 60999)
_LOWEST_PORT = 20000
# Not the global generator: a test may seed that one (hypothesis does).
_random = random.SystemRandom()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL_RANGE
    return low, high


def _candidate_ports() -> range:
    """Below the ephemeral range, else above it; where it leaves too few ports on either side
    (it may span nearly everything), any unprivileged port."""
    low, high = _ephemeral_range()
    for candidates in (range(_LOWEST_PORT, low), range(high + 1, 65536)):
        if len(candidates) >= 1000:
            return candidates
    return range(1024, 65536)


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports outside the ephemeral range that were free a moment ago
    (each held until all are picked, so none is picked twice)."""
    candidates = _candidate_ports()
    with ExitStack() as stack:
        ports: list[int] = []
        for _ in range(100 * count):
            if len(ports) == count:
                break
            port = _random.choice(candidates)
            sock = stack.enter_context(closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)))
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
        else:
            raise OSError(f"no free loopback port in {candidates.start}-{candidates.stop - 1}")
        return ports


def free_port() -> int:
    """A loopback port nothing listened on a moment ago."""
    [port] = free_ports(1)
    return port
