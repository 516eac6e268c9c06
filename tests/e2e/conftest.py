"""The whole stack as subprocesses, as `./dev stack` runs it: `prefect server start`, a work
pool with `prefect deploy --all`, a process worker and Django's server, on free ports with a
temporary PREFECT_HOME and MEDIA_ROOT, sharing the test database. One stack for the session
(`running_stack`, tests/conftest.py) serves every test that needs one: these end-to-end
tests and the 1C client's (tests/exchange); each test finds its exchange directory, staging
area and media empty, and `stack` puts the real sample in the exchange directory."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import SAMPLE_DIR

REPO_DIR = Path(__file__).resolve().parents[2]
PREFECT = [sys.executable, "-m", "prefect"]
STARTUP_SECONDS = 90
RUN_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The processes and directories of one Prefect server + worker + Django server."""

    def __init__(self, root: Path, database_url: str):
        self.root = root
        self.api_url = f"http://127.0.0.1:{_free_port()}/api"
        self.django_url = f"http://127.0.0.1:{_free_port()}"
        self.data_dir = root / "import_1c"
        self.media_root = root / "media"
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.staging_dir = root / "staging"
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(root / "prefect"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            # The server's SQLite waits for its lock as long as Prefect's own tests let it (30 s,
            # not 10): the shard workers, the worker and the tests write at once on busy hosts.
            "PREFECT_SERVER_DATABASE_TIMEOUT": "30",
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(self.media_root),
            "ONEC_DATA_DIR": str(self.data_dir),
            # 1C's HTTP exchange (tests/exchange): staged files, sent in pieces of 256 KiB.
            "ONEC_EXCHANGE_STAGING_DIR": str(self.staging_dir),
            "ONEC_EXCHANGE_FILE_LIMIT": str(256 * 1024),
            # Small chunks one at a time: an import of a few hundred products lasts long
            # enough for a browser to watch its progress bar move.
            "ONEC_IMAGE_CHUNK_SIZE": "3",
            "ONEC_IMPORT_MAX_WORKERS": "1",
            # A shard whose process stops is noticed after one missed heartbeat (every 30 s).
            "ONEC_SHARD_HEARTBEAT_TIMEOUT_SECONDS": "45",
        }

    def start(self, name: str, *command: str) -> None:
        log = self.root / f"{name}.log"
        process = subprocess.Popen(
            list(command), cwd=REPO_DIR, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops the flow runs it spawned
        )
        self.processes.append((process, log))

    def run(self, *args: str) -> None:
        result = subprocess.run([*PREFECT, *args], cwd=REPO_DIR, env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"

    def wait_until_up(self, url: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                return
            except OSError:
                assert all(p.poll() is None for p, _ in self.processes), f"a stack process exited:\n{self.logs()}"
                time.sleep(0.5)
        pytest.fail(f"{url} not up after {STARTUP_SECONDS} s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for _, log in self.processes)

    def start_all(self) -> None:
        """Server, work pool, `prefect deploy --all`, a worker and Django, in that order."""
        self.start("server", *PREFECT, "server", "start", "--host", "127.0.0.1",
                   "--port", self.api_url.split(":")[2].split("/")[0])
        self.wait_until_up(f"{self.api_url}/health")
        self.run("work-pool", "create", "onec-imports", "--type", "process")
        self.run("work-pool", "create", "onec-images-shards", "--type", "process")
        self.run("--no-prompt", "deploy", "--all")
        self.start("worker", *PREFECT, "worker", "start", "--pool", "onec-imports", "--type", "process")
        self.start("django", sys.executable, "backend/manage.py", "runserver", "--noreload",
                   self.django_url.removeprefix("http://"))
        self.wait_until_up(f"{self.django_url}/admin/login/")

    def stop(self, since: int = 0) -> None:
        """Stop the processes started (the ones from the `since`-th on), last first."""
        stopping, self.processes[since:] = self.processes[since:], []
        for process, _ in reversed(stopping):  # the worker before the server it reports to
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


    def reset(self) -> None:
        """An empty exchange directory, staging area and media root, as for a stack of its own
        (each test starts with an empty database: files an earlier test left would be
        counted, or hide its files)."""
        for directory in (self.data_dir, self.staging_dir, self.media_root):
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)


def start_session_stack(tmp_path_factory) -> Stack:
    """The session's stack (the `running_stack` fixture), on this session's test database."""
    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("the stack's processes share the test database: run with PostgreSQL (./dev test)")
    stack = Stack(tmp_path_factory.mktemp("stack"), f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    stack.reset()
    try:
        stack.start_all()
    except BaseException:
        stack.stop()
        raise
    return stack


@pytest.fixture
def stack(running_stack):
    """The session's stack, with the real 1C sample in its exchange directory."""
    if not (SAMPLE_DIR / "goods" / "goods.xml").is_file():
        pytest.skip(f"the real 1C sample is not at {SAMPLE_DIR}")
    running_stack.reset()
    shutil.rmtree(running_stack.data_dir)
    shutil.copytree(SAMPLE_DIR, running_stack.data_dir)
    return running_stack


def wait_until_finished(session, stack: Stack):
    """The session once it is no longer pending or running (the stack's logs if it hangs)."""
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        session.refresh_from_db()
        if not session.is_active:
            return session
        time.sleep(0.5)
    pytest.fail(f"session #{session.pk} still {session.status} after {RUN_SECONDS} s:\n{stack.logs()}")
