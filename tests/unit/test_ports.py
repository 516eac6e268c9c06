"""The servers the tests start get ports no outgoing connection is handed by the OS, so a
connection opened between the pick and the bind cannot take a server's port."""
from __future__ import annotations

import socket

from devtools import ports
from devtools.ports import free_ports


def test_ports_are_distinct_bindable_and_outside_the_ephemeral_range():
    low, high = ports._ephemeral_range()
    picked = free_ports(12)
    assert len(set(picked)) == 12
    assert all(not low <= port <= high for port in picked)
    for port in picked:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_never_picked(monkeypatch):
    taken_port, other_port = free_ports(2)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", taken_port))
        taken.listen()
        monkeypatch.setattr(ports, "_candidate_ports", lambda: [taken_port, other_port])
        assert {port for _ in range(20) for port in free_ports(1)} == {other_port}
