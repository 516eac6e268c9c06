"""End to end: a real `prefect server start`, `prefect deploy --all` and a process worker
as subprocesses; the admin page starts the catalog and then the image import of the real
1C sample, and the worker's flow runs carry both sessions to `completed`."""
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
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import connection
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.settings import PREFECT_API_URL, temporary_settings

from apps.integrations.models import ImportSession
from tests.admin.conftest import PAGE_URL
from tests.conftest import SAMPLE_DIR, media_files

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPO_DIR = Path(__file__).resolve().parents[2]
PREFECT = [sys.executable, "-m", "prefect"]
STARTUP_SECONDS = 90
RUN_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The processes and directories of one Prefect server + worker."""

    def __init__(self, root: Path, database_url: str):
        self.root = root
        self.api_url = f"http://127.0.0.1:{_free_port()}/api"
        self.data_dir = root / "import_1c"
        self.media_root = root / "media"
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(root / "prefect"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(self.media_root),
            "ONEC_DATA_DIR": str(self.data_dir),
        }

    def start(self, name: str, *args: str) -> None:
        log = self.root / f"{name}.log"
        process = subprocess.Popen(
            [*PREFECT, *args], cwd=REPO_DIR, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops the flow runs it spawned
        )
        self.processes.append((process, log))

    def run(self, *args: str) -> None:
        result = subprocess.run([*PREFECT, *args], cwd=REPO_DIR, env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.api_url}/health", timeout=2)
                return
            except OSError:
                assert self.processes[0][0].poll() is None, f"prefect server exited:\n{self.logs()}"
                time.sleep(0.5)
        pytest.fail(f"prefect server not healthy after {STARTUP_SECONDS} s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for _, log in self.processes)

    def stop(self) -> None:
        for process, _ in reversed(self.processes):  # the worker before the server it reports to
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker):
    """Server, work pool, `prefect deploy --all` and a worker, sharing the test database."""
    if not (SAMPLE_DIR / "goods" / "goods.xml").is_file():
        pytest.skip(f"the real 1C sample is not at {SAMPLE_DIR}")
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    stack = Stack(tmp_path_factory.mktemp("stack"), database_url)
    shutil.copytree(SAMPLE_DIR, stack.data_dir)
    try:
        stack.start("server", "server", "start", "--host", "127.0.0.1", "--port", stack.api_url.split(":")[2].split("/")[0])
        stack.wait_until_healthy()
        stack.run("work-pool", "create", "onec-imports", "--type", "process")
        stack.run("--no-prompt", "deploy", "--all")
        stack.start("worker", "worker", "start", "--pool", "onec-imports", "--type", "process")
        yield stack
    finally:
        stack.stop()


def _start_from_admin(client, import_type: str) -> ImportSession:
    response = client.post(PAGE_URL, {"import_type": import_type})
    assert response.status_code == 302, [str(p) for p in response.context["problems"]]
    return ImportSession.objects.get(import_type=import_type, started_by="admin")


def _wait_until_finished(session: ImportSession, stack: Stack) -> ImportSession:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        session.refresh_from_db()
        if not session.is_active:
            return session
        time.sleep(0.5)
    pytest.fail(f"session #{session.pk} still {session.status} after {RUN_SECONDS} s:\n{stack.logs()}")


def _finished_run_and_task_names(flow_run_id, stack: Stack):
    """The flow run once final, and its task-run names (`<task>-<suffix>`, chunks by index).

    The session completes inside the last task; Prefect records the run's end and its task
    runs a moment later (task runs arrive as events), so wait for both.
    """
    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as prefect:
        while time.monotonic() < deadline:
            run = prefect.read_flow_run(flow_run_id)
            tasks = prefect.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            if run.state.is_final() and tasks and all(t.state and t.state.is_final() for t in tasks):
                names = {t.name for t in tasks}
                if any(name.startswith("summarize-") for name in names):
                    return run, names
            time.sleep(0.5)
    pytest.fail(f"flow run {flow_run_id} and its task runs did not finish in Prefect:\n{stack.logs()}")


def test_admin_starts_catalog_then_images_and_the_worker_completes_them(stack, client, settings):
    settings.ONEC_DATA_DIR = stack.data_dir
    client.force_login(User.objects.create_superuser("admin", password="pw"))

    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        catalog = _wait_until_finished(_start_from_admin(client, "catalog"), stack)
        assert (catalog.status, catalog.report_details["created"]) == ("completed", 3), catalog.error_message

        images = _wait_until_finished(_start_from_admin(client, "images"), stack)
        run, task_names = _finished_run_and_task_names(images.flow_run_id, stack)

    assert images.status == "completed", f"{images.error_message}\n{stack.logs()}"
    report = images.report_details
    assert (report["total_products"], report["processed"], report["copied"], report["errors"]) == (3, 3, 13, 0)
    assert run.state.is_completed() and run.parameters["session_id"] == images.pk
    assert "import-images-chunk-0" in task_names
    assert {name.rsplit("-", 1)[0] for name in task_names} >= {"validate-catalog", "check-directory", "summarize"}
    files = media_files(stack.media_root)
    assert len(files) == 13
    for name, data in files.items():
        assert data == (stack.data_dir / "goods" / "import_files" / name.removeprefix("products/")).read_bytes()


def test_the_server_schedules_the_image_import_nightly_at_three_moscow_time(stack):
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}), get_client(sync_client=True) as prefect:
        deployment = prefect.read_deployment_by_name("import-images/images")
        (schedule,) = deployment.schedules
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            scheduled = [
                run for run in prefect.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                    flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["SCHEDULED"]))),
                )
                if run.auto_scheduled
            ]
            if scheduled:
                break
            time.sleep(1)

    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == ("0 3 * * *", "Europe/Moscow", True)
    assert deployment.global_concurrency_limit.limit == 1 and deployment.work_pool_name == "onec-imports"
    assert scheduled, "the Prefect scheduler created no nightly runs"
    moscow = ZoneInfo("Europe/Moscow")
    assert {(run.expected_start_time.astimezone(moscow).hour, run.expected_start_time.minute) for run in scheduled} == {(3, 0)}
