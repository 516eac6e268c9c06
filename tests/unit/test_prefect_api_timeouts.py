"""A Prefect server that accepts connections but does not answer (overloaded, or stuck)
holds the 1C exchange's poll no longer than the time it was given: the Prefect client's
own retries, which sleep 2, 4, 8... seconds between attempts, are off for that call."""
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading
import time

from prefect.settings import PREFECT_API_URL, temporary_settings

from apps.imports.prefect_api.runs import prefect_deployment_run_create_within


def test_a_server_that_never_answers_gives_none_within_the_time_given():
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_stay_silent():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{listener.getsockname()[1]}/api"}):
            started = time.monotonic()
            flow_run_id = prefect_deployment_run_create_within(
                name="prepare-exchange-import/onec-exchange", parameters={}, idempotency_key="k", seconds=0.2
            )
            elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()

    assert flow_run_id is None
    assert len(accepted) == 1, f"{len(accepted)} connections: the timed-out request was retried"
    # One request timed out at 0.2 s; a retry would have slept 2 s first.
    assert elapsed < 2.0, f"the call took {elapsed:.1f} s"


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


def test_a_busy_server_gives_none_at_once_and_is_asked_again_later():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{server.server_address[1]}/api"}):
            started = time.monotonic()
            flow_run_id = prefect_deployment_run_create_within(
                name="prepare-exchange-import/onec-exchange", parameters={}, idempotency_key="k", seconds=0.5
            )
            elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()

    assert flow_run_id is None
    assert elapsed < 2.0, f"the call took {elapsed:.1f} s"  # a retry would have slept 2 s first
