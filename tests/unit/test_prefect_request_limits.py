"""A Prefect server that accepts connections and never answers (a busy one, as the
production benchmark met): the 1C exchange's first poll asks it for a run with each request
given 0.25 s, and answers in time (bench/RESULTS.md, "Under load")."""
from __future__ import annotations

import socket
import threading
import time

from prefect.settings import PREFECT_API_URL, temporary_settings

from apps.imports.prefect_api.runs import prefect_deployment_run_create_within


def test_a_silent_prefect_server_gives_up_within_the_limit_without_retrying():
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_stay_silent():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                pass

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/api"
    try:
        started = time.monotonic()
        with temporary_settings(updates={PREFECT_API_URL: url}):
            flow_run_id = prefect_deployment_run_create_within(
                name="prepare-exchange-import/onec-exchange", parameters={}, idempotency_key="k", seconds=0.25
            )
        seconds = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()

    assert flow_run_id is None
    assert len(accepted) == 1, f"{len(accepted)} requests in {seconds:.0f} s: the timed-out request was retried"
    assert seconds < 10  # retried, it takes 62 s of Prefect's back-off
