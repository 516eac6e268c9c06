"""End to end: a real `prefect server start`, `prefect deploy --all` and a process worker
as subprocesses; the admin page starts the catalog and then the image import of the real
1C sample, and the worker's flow runs carry both sessions to `completed`."""
from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
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

from apps.imports.models import ImportSession
from tests.admin.conftest import PAGE_URL
from tests.conftest import media_files
from tests.e2e.conftest import Stack, wait_until_finished

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

def _start_from_admin(client, import_type: str) -> ImportSession:
    response = client.post(PAGE_URL, {"import_type": import_type})
    assert response.status_code == 302, [str(p) for p in response.context["problems"]]
    return ImportSession.objects.get(import_type=import_type, started_by="admin")


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
        catalog = wait_until_finished(_start_from_admin(client, "catalog"), stack)
        assert (catalog.status, catalog.report_details["created"]) == ("completed", 3), catalog.error_message

        images = wait_until_finished(_start_from_admin(client, "images"), stack)
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
