"""The one launcher of the local stack: a Prefect server, its work pools and deployments, the
imports worker, shard workers and the web server (gunicorn, as in production), and SeaweedFS
for media in S3, each a process group of its own on 127.0.0.1, logging to a file under its root.

`./dev stack [--s3]` runs `python -m devtools.stack`; the tests' session stack
(tests/e2e/conftest.py) and the shard benchmark (bench/shards.py) build on `LocalStack`.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.utils.translation import gettext_noop

from apps.imports.prefect_api import NO_TELEMETRY
from devtools.lines import dev_line
from devtools.ports import free_port

REPO_DIR = Path(__file__).resolve().parent.parent
PREFECT = [sys.executable, "-m", "prefect"]
IMPORTS_POOL = "onec-imports"
SHARD_POOL = "onec-images-shards"
STARTUP_SECONDS = 90
# The parts' arguments, as deploy/systemd's units give them too (tests/unit/test_deploy_files.py).
IMPORTS_WORKER_ARGS = ("-m", "flows.warm_worker", "--pool", IMPORTS_POOL)


def prefect_server_args(port: int) -> tuple[str, ...]:
    return ("server", "start", "--host", "127.0.0.1", "--port", str(port))


def shard_worker_args(name: str) -> tuple[str, ...]:
    """`python <these>`: a warm shard worker named `name`, one run at a time."""
    return ("-m", "flows.shard_worker", "--limit", "1", "--name", name)


class StackError(RuntimeError):
    """A part of the stack did not start; the message holds the command's output or logs."""


class LocalStack:
    """The processes of one stack. `env` is what every part runs with; the Prefect API URL
    and Django's address are on the given ports (free ones when None)."""

    def __init__(self, root: Path, env: dict[str, str], *, prefect_port: int | None = None,
                 django_port: int | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.prefect_port = prefect_port or free_port()
        self.api_url = f"http://127.0.0.1:{self.prefect_port}/api"
        self.django_url = f"http://127.0.0.1:{django_port or free_port()}"
        self.env = {
            **env,
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
            # `python` is this interpreter: the command of a run that Prefect's own process
            # worker starts (prefect.yaml), e.g. the benchmarks' `prefect worker start`.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}",
            **NO_TELEMETRY,
        }
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, *command: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start a part in a process group of its own (stopping it stops what it spawned)."""
        log = self.root / f"{name}.log"
        process = subprocess.Popen(
            list(command), cwd=REPO_DIR, env={**self.env, **(env or {})}, stdout=log.open("w"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes.append((process, log))
        return process

    def manage(self, *args: str, env: dict[str, str] | None = None) -> None:
        """Run one `manage.py` command with the stack's environment, or `env` instead."""
        result = subprocess.run([sys.executable, "backend/manage.py", *args], cwd=REPO_DIR, env=env or self.env,
                                capture_output=True, text=True, timeout=300)
        if result.returncode:
            raise StackError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def prefect(self, *args: str) -> None:
        """Run one Prefect CLI command against the stack's server."""
        result = subprocess.run([*PREFECT, *args], cwd=REPO_DIR, env=self.env, capture_output=True, text=True,
                                timeout=300)
        if result.returncode:
            raise StackError(f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def wait_until_up(self, url: str, *, seconds: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                return
            except OSError:
                if any(process.poll() is not None for process, _ in self.processes):
                    raise StackError(f"a part of the stack exited while waiting for {url}:\n{self.logs()}") from None
                time.sleep(0.5)
        raise StackError(f"{url} did not answer in {seconds:.0f} s:\n{self.logs()}")

    def start_prefect(self) -> None:
        """The server, the imports' and the shards' work pools, and `prefect deploy --all`."""
        self.start("prefect-server", *PREFECT, *prefect_server_args(self.prefect_port))
        self.wait_until_up(f"{self.api_url}/health")
        for pool in (IMPORTS_POOL, SHARD_POOL):
            self.prefect("work-pool", "create", pool, "--type", "process", "--overwrite")
        self.prefect("--no-prompt", "deploy", "--all")

    def start_imports_worker(self, *, nice: int = 0) -> None:
        """The imports' warm worker (flows/warm_worker.py): each run a fork of it (at the
        niceness `nice`, as deploy/systemd's unit gives it on a server)."""
        self.start("prefect-worker", *(("nice", "-n", str(nice)) if nice else ()), sys.executable, *IMPORTS_WORKER_ARGS)

    def start_shard_worker(self, name: str, *, part: str | None = None, command_prefix: tuple[str, ...] = (),
                           env: dict | None = None) -> None:
        """A warm shard worker (`python -m flows.shard_worker`) named `name`, one run at a time."""
        self.start(part or f"shard-worker-{name}", *command_prefix, sys.executable, *shard_worker_args(name), env=env)

    def start_django(self) -> None:
        """The web server as production runs it: `collectstatic`, then gunicorn with the
        project's settings (config/gunicorn.py), which serves the static files too (WhiteNoise)."""
        self.manage("collectstatic", "--noinput", "-v", "0")
        self.start("django", sys.executable, "-m", "gunicorn", "--config", "python:config.gunicorn",
                   "--bind", self.django_url.removeprefix("http://"))
        self.wait_until_up(f"{self.django_url}/admin/login/")

    def stop(self, since: int = 0) -> None:
        """Stop the parts started (the ones from the `since`-th on), last first: Django and
        the workers before the server they report to."""
        stopping, self.processes[since:] = self.processes[since:], []
        for process, _ in reversed(stopping):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            # What the part spawned (a worker's forked runs, gunicorn's workers) may outlive it
            # for a moment, still connected to the database a test's teardown is about to drop.
            if not _group_gone(process.pid, seconds=10):
                os.killpg(process.pid, signal.SIGKILL)
                _group_gone(process.pid, seconds=10)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for _, log in self.processes if log.exists())


def _group_gone(group: int, *, seconds: float) -> bool:
    """Whether no process is left in the process group `group` within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _with_s3_media(stack: LocalStack):
    """SeaweedFS with a bucket for the media, its settings for every part, and the bucket's
    upload limit (S3_UPLOAD_CHUNKS image chunks at once, on every host; docs/media-and-s3.md)."""
    from devtools.seaweed import seaweed_start

    server = seaweed_start(data_dir=(stack.root / "seaweedfs").resolve())
    stack.env.update(server.environ())
    bucket = stack.env["AWS_STORAGE_BUCKET_NAME"]
    limit = f"s3-uploads-{bucket}"
    try:
        stack.prefect("gcl", "inspect", limit)
    except StackError:
        stack.prefect("gcl", "create", limit, "--limit", os.environ.get("S3_UPLOAD_CHUNKS", "4"))
    _say(gettext_noop("media in S3 bucket %(bucket)s at %(endpoint)s (SeaweedFS, data in %(dir)s)"),
         bucket=bucket, endpoint=stack.env["AWS_S3_ENDPOINT_URL"], dir=stack.root / "seaweedfs")
    return server


def _say(text: str, **values) -> None:
    """One line of `./dev stack`'s own output, in the site's language."""
    print(dev_line(text, values), file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """`./dev stack [--s3]`: the whole stack in the foreground until Ctrl-C or a part exits."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()  # for the site's language of its lines
    from django.utils.translation import gettext

    parser = argparse.ArgumentParser(prog="./dev stack")
    parser.add_argument("--s3", action="store_true", help="media in a local SeaweedFS bucket")
    args = parser.parse_args(argv)
    root = REPO_DIR / "var"
    stack = LocalStack(root, dict(os.environ), prefect_port=int(os.environ.get("PREFECT_PORT", 4200)),
                       django_port=int(os.environ.get("DJANGO_PORT", 8000)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    database = ("PREFECT_SERVER_DATABASE_CONNECTION_URL" if os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL")
                else gettext("SQLite in %(dir)s") % {"dir": stack.env.get("PREFECT_HOME", "~/.prefect")})
    seaweed = None
    try:
        _say(gettext_noop("Prefect server on port %(port)s (database: %(database)s)"), port=stack.prefect_port,
             database=database)
        stack.start_prefect()
        if args.s3:
            seaweed = _with_s3_media(stack)
        subprocess.run([sys.executable, "backend/manage.py", "create_first_admin"], cwd=REPO_DIR, env=stack.env,
                       check=True)
        stack.start_imports_worker()
        stack.start_shard_worker(socket.gethostname(), part="prefect-shard-worker")
        stack.start_django()
        logs = "  ".join(str(log.relative_to(REPO_DIR)) for _, log in stack.processes)
        lines = [
            (gettext("Django admin:"), f"{stack.django_url}/admin/"),
            (gettext("1C import page:"), f"{stack.django_url}/admin/integrations/import_1c/"),
            (gettext("Prefect UI:"), f"http://127.0.0.1:{stack.prefect_port}/"),
            (gettext("Logs:"), logs),
        ]
        width = max(len(label) for label, _ in lines) + 2
        print("", *(f"  {label:{width}}{value}" for label, value in lines), "  " + gettext("Ctrl-C stops everything."), "",
              sep="\n", file=sys.stderr)
        while all(process.poll() is None for process, _ in stack.processes):
            time.sleep(1)
        _say(gettext_noop("a part of the stack exited; see the logs in var/"))
        sys.exit(1)
    except StackError as exc:
        _say(gettext_noop("the stack did not start: %(error)s"), error=exc)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        _say(gettext_noop("stopping the stack..."))
        stack.stop()
        if seaweed is not None:
            seaweed.stop()
        _say(gettext_noop("stack stopped"))


if __name__ == "__main__":
    main()
