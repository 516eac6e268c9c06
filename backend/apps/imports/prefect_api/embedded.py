"""Prefect's embedded server for one command-line run, started without loading it here.

Without PREFECT_API_URL Prefect starts its embedded server on first use, and to do so
first imports the whole server package into the calling process (a large share of a CLI
run's start-up and memory, bench/RESULTS.md), only to run the server in a subprocess.
Starting that same subprocess directly (Prefect's own command line and environment, see
`prefect.server.api.server.SubprocessASGIServer`, on a socket bound here rather than a port
it binds itself) skips the import; the server, its database under PREFECT_HOME and
everything the run records are the same.
"""
from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import httpx
import prefect
from django.utils.translation import gettext, gettext_noop
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_HOME,
    PREFECT_SERVER_EPHEMERAL_ENABLED,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    PREFECT_UI_URL,
    get_current_settings,
    temporary_settings,
)

from apps.i18n.messages import Message, error_message, message_text

from . import NO_TELEMETRY

logger = logging.getLogger(__name__)

_STOP_TIMEOUT_SECONDS = 5
EMBEDDED_SERVER_START_SECONDS = 90
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LOG_LINES_IN_ERRORS = 5
_LOG_KEPT_BYTES = 1024 * 1024


class EmbeddedServerError(RuntimeError):
    """The embedded server did not start; raised with a Message saying why and what to do."""


def server_would_be_embedded() -> bool:
    """Whether `prefect_api_for_this_run` would start an embedded server: no PREFECT_API_URL,
    and Prefect allows one (otherwise Prefect itself reports that there is no server)."""
    return not PREFECT_API_URL.value() and PREFECT_SERVER_EPHEMERAL_ENABLED.value()


@contextmanager
def prefect_api_for_this_run() -> Iterator[bool]:
    """Run the body against PREFECT_API_URL when set; else against an embedded server
    that lives exactly as long as the body. Yields True when the server is embedded (its
    records must be complete before the body ends, see `wait_for_task_run_records`)."""
    if not server_would_be_embedded():
        yield False
        return
    # No "View at" links: the embedded server serves no UI and is gone after the run.
    with embedded_server() as api_url, temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_UI_URL: ""}):
        yield True


@contextmanager
def embedded_server() -> Iterator[str]:
    """Prefect's server in a subprocess, on the current settings' database, living as long
    as the body; yields its API URL. The tests' Prefect server is started this way too."""
    process, api_url = _start_server()
    try:
        yield api_url
    finally:
        try:
            # What this process still has to tell the server goes before the server.
            EventsWorker.drain_all(timeout=_STOP_TIMEOUT_SECONDS)
            APILogWorker.drain_all(timeout=_STOP_TIMEOUT_SECONDS)
        finally:
            _stop_server(process)


def embedded_server_log() -> Path:
    """Where the server's own output goes, appended run after run: not to the terminal,
    where the `database is locked` tracebacks it may log on SQLite under load, for writes
    that are tried again, would read as the run's failure. Past 1 MiB it moves to
    `embedded-server.log.1` (replacing the one before) when a server starts."""
    return PREFECT_HOME.value() / "embedded-server.log"


def _log_rotated(log_path: Path) -> None:
    """Past 1 MiB the log moves aside, once: servers starting at once (the test workers' share
    one PREFECT_HOME) take turns, and the next one finds the new, short log. A log that cannot
    be moved never stops a run."""
    try:
        with open(log_path.with_name(log_path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if log_path.stat().st_size > _LOG_KEPT_BYTES:
                os.replace(log_path, log_path.with_name(log_path.name + ".1"))
    except FileNotFoundError:  # the first run
        pass
    except OSError as exc:
        logger.warning("could not move the embedded server's log %s aside: %s", log_path, exc)


def _start_server() -> tuple[subprocess.Popen, str]:
    """Start the server on a socket bound here to a free port, and wait until it answers.
    Prefect picks a free port and lets the server bind it, so another process may take it
    first and Prefect tries again; a socket handed over cannot be taken, so a server that
    exits while starting has failed, and is reported with the end of its log."""
    log_path = embedded_server_log()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _log_rotated(log_path)
    # Kept open until the server answers: its last lines are read through this file even if
    # another server's start moves the log aside meanwhile.
    with open(log_path, "a+b") as log:
        log_start = log.tell()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            command = [
                sys.executable, "-m", "uvicorn",
                "--app-dir", str(prefect.__module_path__.parent),
                "--factory", "prefect.server.api.server:create_app",
                "--fd", str(sock.fileno()),
                "--log-level", "error", "--lifespan", "on",
            ]
            env = {
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
                # Its telemetry service would phone home, and on SQLite its heartbeat's writes
                # collide with the run's ("database is locked" tracebacks in the output).
                **NO_TELEMETRY,
                "PYTHONUNBUFFERED": "1",  # its last lines reach the log even when it is killed
            }
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       pass_fds=(sock.fileno(),), preexec_fn=_dies_with_parent())
        api_url = f"http://127.0.0.1:{port}/api"
        if _wait_until_healthy(process, api_url, log, log_start):
            return process, api_url
        raise EmbeddedServerError(Message(
            gettext_noop(
                "Prefect's embedded server exited with code %(code)s while starting; its log %(log)s ends "
                "with:\n%(tail)s\nFix what it says (e.g. PREFECT_SERVER_DATABASE_CONNECTION_URL), or set "
                "PREFECT_API_URL to a running server"
            ),
            code=process.returncode, log=str(log_path), tail=_log_tail(log, log_start),
        ))


def _dies_with_parent():
    """On Linux, have the kernel stop the server when this process dies, even by SIGKILL
    (atexit never runs then, and an orphaned server would hold its memory for good). The
    kernel ties this to the thread that starts the server: the command's main thread,
    which lives as long as the run."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, only called after
    parent_pid = os.getpid()

    def set_parent_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before the signal was armed
            os._exit(1)

    return set_parent_death_signal


def _wait_until_healthy(process: subprocess.Popen, api_url: str, log: BinaryIO, log_start: int) -> bool:
    """True once the server answers; False if it exited meanwhile. Unless set, wait up to
    EMBEDDED_SERVER_START_SECONDS: it starts in 3-16 s, but on a busy machine later than
    Prefect's own 20 s default, and a demo or import should wait rather than fail."""
    timeout = (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
               if "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in os.environ else EMBEDDED_SERVER_START_SECONDS)
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get(f"{api_url}/health", timeout=2).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    _stop_server(process)
    raise EmbeddedServerError(Message(
        gettext_noop(
            "Prefect's embedded server did not answer within %(seconds)s s "
            "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS); on a slow machine raise it, or set PREFECT_API_URL. "
            "Its log %(log)s ends with:\n%(tail)s"
        ),
        seconds=timeout, log=log.name, tail=_log_tail(log, log_start),
    ))


def _log_tail(log: BinaryIO, start: int) -> str:
    """The last lines the server wrote to its log since `start` (a byte offset)."""
    data = os.pread(log.fileno(), max(os.fstat(log.fileno()).st_size - start, 0), start)
    lines = [line for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return "\n".join(lines[-_LOG_LINES_IN_ERRORS:]) or "—"


def _stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=_STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_task_run_records(flow_run_id: uuid.UUID, *, timeout: float = 15.0, poll: float = 0.1) -> bool:
    """Let Prefect's embedded server record the run's last task-run events before it stops.

    The server stops when the run ends; stopping it while its task-run recorder writes logs
    CancelledError tracebacks and loses those records. So: send this process' pending
    events, then wait until every recorded task run of the flow run is final and their
    number holds still across two polls. False on timeout (the run itself is unaffected).
    """
    from prefect.client.orchestration import get_client

    flow_runs = {"id": {"any_": [str(flow_run_id)]}}
    not_final = {"state": {"type": {"any_": ["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"]}}}
    deadline = time.monotonic() + timeout
    previous = None
    try:
        EventsWorker.drain_all(timeout=timeout)
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                total = client.request("POST", "/task_runs/count", json={"flow_runs": flow_runs}).json()
                pending = client.request(
                    "POST", "/task_runs/count", json={"flow_runs": flow_runs, "task_runs": not_final}
                ).json()
                if pending == 0 and total == previous:
                    return True
                previous = total if pending == 0 else None
                time.sleep(poll)
    except Exception as exc:  # the import's outcome is already recorded; this is housekeeping
        logger.warning("%s", gettext("could not check Prefect's records of the steps of flow run %(run)s: %(error)s")
                       % {"run": flow_run_id, "error": message_text(error_message(exc))})
        return False
    logger.warning("%s", gettext("Prefect had not recorded every step of flow run %(run)s after %(seconds).0f s")
                   % {"run": flow_run_id, "seconds": timeout})
    return False
