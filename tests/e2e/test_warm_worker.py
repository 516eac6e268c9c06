"""The imports' warm worker (flows/warm_worker.py) on the session's stack: a run whose forked
process dies without ending its run (SIGKILL, as the kernel's OOM killer does it) has its
session failed at once by the flow's on_crashed hooks, which the worker runs as Prefect's
runner does, not left `in progress` until the next reconcile."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from prefect.settings import PREFECT_API_URL, temporary_settings

from apps.imports.models import ImportSession
from tests.admin.conftest import PAGE_URL
from tests.conftest import Exchange
from tests.e2e.conftest import wait_until_finished
from tests.flows.helpers import add_products_with_photos

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _forks_of(pid: int) -> list[int]:
    """The worker's children, the forks running its runs (forked from its threads: each
    thread's own list)."""
    return [int(child) for children in Path(f"/proc/{pid}/task").glob("*/children")
            for child in children.read_text().split()]


def test_a_run_whose_process_is_killed_fails_its_session_at_once(running_stack, client, settings):
    stack = running_stack
    stack.reset()
    add_products_with_photos(Exchange(stack.data_dir), count=240)  # chunks of 3 one at a time: seconds of work
    settings.ONEC_DATA_DIR = stack.data_dir
    client.force_login(User.objects.create_superuser("admin", password="pw"))
    (worker,) = [process for process, log in stack.processes if log.name == "prefect-worker.log"]

    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        assert client.post(PAGE_URL, {"import_type": "images"}).status_code == 302
        session = ImportSession.objects.get(import_type="images")
        deadline = time.monotonic() + 60
        while not (session.status == "in_progress" and _forks_of(worker.pid)):
            assert time.monotonic() < deadline, f"the import never ran:\n{stack.logs()}"
            time.sleep(0.1)
            session.refresh_from_db()
        for fork in _forks_of(worker.pid):
            os.kill(fork, signal.SIGKILL)
        killed = time.monotonic()
        session = wait_until_finished(session, stack)

    assert session.status == "failed", session.error_message
    assert "the flow run crashed: the flow run's process exited with status -9" in session.error_message
    assert time.monotonic() - killed < 30, "settled by the hooks, not by a reconcile minutes later"
    assert worker.poll() is None, "the worker itself lives on"
