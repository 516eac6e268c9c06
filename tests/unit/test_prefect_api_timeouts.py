"""A Prefect server that accepts connections but does not answer (overloaded, or stuck)
holds the 1C exchange's poll no longer than the time it was given: the Prefect client's
own retries, which sleep 2, 4, 8... seconds between attempts, are off for that call."""
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading
import time
import uuid

import httpx
import pytest
from prefect.client.schemas.responses import DeploymentResponse
from prefect.settings import PREFECT_API_URL, temporary_settings

from apps.imports.prefect_api.runs import prefect_deployment_run_create_within


def test_a_server_that_never_answers_gives_none_within_the_time_given():
    """A listening socket nobody accepts from: the kernel completes each connection into the
    backlog and the request is never answered. The connections are counted from the backlog
    after the call, so no thread races the client to accept them."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=8)
    try:
        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{listener.getsockname()[1]}/api"}):
            started = time.monotonic()
            flow_run_id = prefect_deployment_run_create_within(
                name="prepare-exchange-import/onec-exchange", parameters={}, idempotency_key="k", seconds=0.2
            )
            elapsed = time.monotonic() - started
        connections = _backlog(listener)
    finally:
        listener.close()

    assert flow_run_id is None
    assert connections == 1, f"{connections} connections: the timed-out request was retried"
    # One request timed out within 0.2 s; a retry would have slept 2 s first.
    assert elapsed < 2.0, f"the call took {elapsed:.1f} s"


def _backlog(listener: socket.socket) -> int:
    """How many connections wait in the listener's backlog (each accepted and closed)."""
    listener.setblocking(False)
    count = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


class _Busy(BaseHTTPRequestHandler):
    """What Prefect's server answers while its database is locked."""

    def _busy(self):
        body = b'{"exception_message": "Service Unavailable"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _busy

    def log_message(self, *args):
        pass


def _ask_for_a_run(handler, *, seconds: float) -> tuple:
    """The flow run id and the seconds `prefect_deployment_run_create_within` took against a
    server answering with `handler`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{server.server_address[1]}/api"}):
            started = time.monotonic()
            flow_run_id = prefect_deployment_run_create_within(
                name="prepare-exchange-import/onec-exchange", parameters={}, idempotency_key="k", seconds=seconds
            )
            return flow_run_id, time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()


def test_a_busy_server_gives_none_at_once_and_is_asked_again_later():
    flow_run_id, elapsed = _ask_for_a_run(_Busy, seconds=0.5)

    assert flow_run_id is None
    assert elapsed < 2.0, f"the call took {elapsed:.1f} s"  # a retry would have slept 2 s first


def test_a_server_that_is_down_is_refused_at_once_without_retrying_the_connection():
    """Prefect's transport tries a refused connection 3 more times, sleeping 0, 0.5 and 1 s
    between tries; the poll's client is given a transport that does not."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}):
        started = time.monotonic()
        with pytest.raises(httpx.ConnectError):
            prefect_deployment_run_create_within(
                name="prepare-exchange-import/onec-exchange", parameters={}, idempotency_key="k", seconds=0.2
            )
        elapsed = time.monotonic() - started

    assert elapsed < 1.0, f"the call took {elapsed:.2f} s"  # the retries alone sleep 1.5 s


class _Slow(BaseHTTPRequestHandler):
    """The deployment's lookup answered after 0.2 s; CSRF protection off, said at once (as
    Prefect's server says it by default); the flow run's creation answered after 0.3 s, with
    an error a client should never get to see if the time given is shared."""

    def do_GET(self):
        if self.path.startswith("/api/csrf-token"):
            self._answer(422, b'{"detail": "CSRF protection is disabled."}')
            return
        time.sleep(0.2)
        self._answer(200, DeploymentResponse(name="onec-exchange", flow_id=uuid.uuid4()).model_dump_json().encode())

    def do_POST(self):
        time.sleep(0.3)
        self._answer(500, b'{"exception_message": "Internal Server Error"}')

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_time_given_bounds_all_the_requests_together():
    """0.7 s for the lookup (0.2 s), the CSRF question and the creation (0.3 s): the creation
    gets half of the ~0.5 s left, and ends before its answer. Given 0.7 s (or half of it) of
    its own, as httpx's per-request timeouts would, it would get the error answer; and each
    of the three requests could take that long (1C's poll waited 2.15 s so)."""
    flow_run_id, elapsed = _ask_for_a_run(_Slow, seconds=0.7)

    assert flow_run_id is None
    assert elapsed < 1.0, f"the call took {elapsed:.2f} s"
