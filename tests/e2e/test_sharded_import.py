"""One image import spread over two workers: the worker of the imports' pool runs the
parent flow, which starts two shard runs on the shard pool; two more workers, standing for
two hosts and taking one run each, carry one shard each into the parent's session."""
from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
from prefect.settings import PREFECT_API_URL, temporary_settings

from apps.integrations.models import ImportChunk, ImportSession
from apps.integrations.services.launch import import_session_launch
from apps.products.models import Product
from tests.conftest import Exchange
from tests.e2e.conftest import PREFECT, RUN_SECONDS
from tests.flows.helpers import add_products_with_photos

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRODUCTS = 30  # chunks of 3 (the stack's setting): 10 chunks, 5 per shard


@pytest.fixture(scope="module")
def shard_workers(stack):
    """Two workers on the shard pool, one run at a time each: two hosts."""
    for name in ("shard-host-a", "shard-host-b"):
        stack.start(name, *PREFECT, "worker", "start", "--pool", "onec-images-shards", "--type", "process",
                    "--name", name, "--limit", "1")
    return stack


def _wait_until_finished(session: ImportSession, stack) -> ImportSession:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        session.refresh_from_db()
        if not session.is_active:
            return session
        time.sleep(0.5)
    pytest.fail(f"session #{session.pk} still {session.status} after {RUN_SECONDS} s:\n{stack.logs()}")


def test_two_shards_on_two_workers_import_everything_once(shard_workers, settings):
    stack = shard_workers
    settings.ONEC_DATA_DIR = stack.data_dir
    add_products_with_photos(Exchange(stack.data_dir), count=PRODUCTS)
    user = User.objects.create_superuser("shards", password="pw")

    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        session = _wait_until_finished(
            import_session_launch(import_type="images", user=user, options={"shards": 2}), stack
        )
        with get_client(sync_client=True) as prefect:
            shard_runs = prefect.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[session.flow_run_id]))
            )

    assert session.status == "completed", f"{session.error_message}\n{stack.logs()}"
    report = session.report_details
    assert (report["shards_total"], report["chunks_total"], report["chunks_done"]) == (2, 10, 10)
    assert (report["total_products"], report["processed"], report["copied"], report["errors"]) == (30, 30, 30, 0)
    # every chunk recorded once, every product has its photo
    assert sorted(ImportChunk.objects.filter(session=session).values_list("index", flat=True)) == list(range(10))
    assert not Product.objects.filter(main_image="").exists()
    assert all((stack.media_root / name).is_file() for name in Product.objects.values_list("main_image", flat=True))
    # two shard runs, subflows of the parent, each run by its own worker
    assert sorted(run.name for run in shard_runs) == ["shard-0", "shard-1"]
    assert all(run.state.is_completed() for run in shard_runs)
    logs = {name: (stack.root / f"{name}.log").read_text() for name in ("shard-host-a", "shard-host-b")}
    ran = {name: [run.name for run in shard_runs if str(run.id) in log] for name, log in logs.items()}
    assert sorted(sum(ran.values(), [])) == ["shard-0", "shard-1"] and all(len(runs) == 1 for runs in ran.values()), ran

    for name in Product.objects.values_list("main_image", flat=True):  # leave the shared media as it was
        (stack.media_root / name).unlink()

