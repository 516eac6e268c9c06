"""The SeaweedFS launcher the storage tests, the S3 benchmarks and `./dev stack --s3` use:
a port another program takes after it was chosen and before `weed mini` binds it (seen in a
full suite run) means a start on new ports, not a failed test session."""
import socket

import pytest

import devtools.seaweed
from devtools.seaweed import PortTakenError, seaweed_start

pytestmark = pytest.mark.s3  # a SeaweedFS server of its own


def test_a_port_taken_before_weed_binds_it_means_new_ports(tmp_path, monkeypatch):
    chosen = []

    def first_s3_port_taken(count):
        ports = free_ports(count)
        if not chosen:
            ports[devtools.seaweed._PORT_FLAGS.index("s3.port")] = taken.getsockname()[1]
        chosen.append(ports)
        return ports

    free_ports = devtools.seaweed.free_ports
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        monkeypatch.setattr(devtools.seaweed, "free_ports", first_s3_port_taken)
        server = seaweed_start(data_dir=tmp_path / "seaweedfs")
    try:
        s3_port = devtools.seaweed._PORT_FLAGS.index("s3.port")
        assert len(chosen) == 2 and server.endpoint_url == f"http://127.0.0.1:{chosen[1][s3_port]}"
        assert "Port allocation failed" in (tmp_path / "seaweedfs" / "weed.log").read_text()
    finally:
        server.stop()


def test_the_last_attempt_reports_the_taken_port(tmp_path, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        monkeypatch.setattr(devtools.seaweed, "free_ports", lambda count: [port] * count)
        with pytest.raises(PortTakenError, match=f"port {port}"):
            seaweed_start(data_dir=tmp_path / "seaweedfs")
