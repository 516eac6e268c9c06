"""A Prefect server that accepts connections but does not answer (overloaded, or stuck)
holds the 1C exchange's poll no longer than the time it was given: the Prefect client's
own retries, which sleep 2, 4, 8... seconds between attempts, are off for that call."""
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading
import time
import uuid

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


class _Slow(BaseHTTPRequestHandler):
    """A server that answers every request after SLOW_SECONDS (the deployment's lookup with a
    deployment; what follows too late to matter)."""

    def do_GET(self):
        time.sleep(SLOW_SECONDS)
        body = DeploymentResponse(name="onec-exchange", flow_id=uuid.uuid4()).model_dump_json().encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        time.sleep(SLOW_SECONDS)
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args):
        pass


SLOW_SECONDS = 0.3


def test_the_time_given_bounds_all_the_requests_together():
    """Two requests of 0.3 s each do not fit in 0.5 s: the second gets only what is left
    (httpx's own timeouts are per request and per phase, so 0.5 s a request let the 1C poll
    wait 2 s)."""
    flow_run_id, elapsed = _ask_for_a_run(_Slow, seconds=0.5)

    # None, not the second answer's error; within the half-second given, the time to make the
    # client aside (a busy machine's margin: a second request given 0.5 s would end after 0.8 s)
    assert flow_run_id is None
    assert elapsed < 0.8, f"the call took {elapsed:.2f} s"
