"""One image import spread over two workers: the worker of the imports' pool runs the
parent flow, which starts two shard runs on the shard pool; two shard workers
(`flows.shard_worker`), standing for two hosts and taking one run each, carry one shard
each into the parent's session."""
from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
from prefect.settings import PREFECT_API_URL, temporary_settings

from apps.imports.options import ImageImportOptions
from apps.imports.models import ImportChunk
from apps.imports.prefect_api.runs import prefect_client
from apps.imports.services.cancellation import import_run_cancel
from apps.imports.services.launch import import_session_launch
from apps.products.models import Product
from apps.media.models import StoredImage
from apps.imports.services.images_import import ChunkImportResult
from tests.conftest import Exchange, make_image_bytes
from tests.e2e.conftest import wait_until_finished

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRODUCTS = 60  # chunks of 3 (the stack's setting): 20 chunks, 10 per shard


@pytest.fixture(scope="module")
def shard_hosts(running_stack):
    """Two workers on the shard pool of the session's stack, one run at a time each: two
    hosts, for this module's tests."""
    started = len(running_stack.processes)
    for name in ("shard-host-a", "shard-host-b"):
        running_stack.start_shard_worker(name)
    yield running_stack
    running_stack.stop(since=started)


@pytest.fixture
def shard_workers(shard_hosts, stack):
    """The stack with its two shard hosts, its exchange directory and media as `stack` leaves them."""
    return stack


def _media_made() -> set[str]:
    """The media names the import recorded: every product's photos and their renditions
    (the stack's media root also holds what other tests left)."""
    names = set()
    for main, gallery in Product.objects.values_list("main_image", "gallery_images"):
        names |= {main, *gallery} - {""}
    for renditions in StoredImage.objects.values_list("renditions", flat=True):
        names |= {entry["name"] for entry in renditions}
    return names


def _imported(stack, session) -> dict:
    """What an import left: each product's main photo and gallery, the bytes (SHA-256) of
    every media file it made, and the session's counters."""
    files = {name: hashlib.sha256((stack.media_root / name).read_bytes()).hexdigest() for name in _media_made()}
    pictures = {onec_id: (main, gallery) for onec_id, main, gallery in
                Product.objects.values_list("onec_id", "main_image", "gallery_images")}
    counters = {key: session.report_details[key] for key in ChunkImportResult().counters()}
    return {"files": files, "pictures": pictures, "counters": counters}


def _forget_imported(stack) -> None:
    """Back to before the import: its media files, records and products' pictures gone."""
    for name in _media_made():
        (stack.media_root / name).unlink(missing_ok=True)
    StoredImage.objects.all().delete()
    Product.objects.update(main_image="", gallery_images=[])


def test_two_shards_on_two_workers_import_everything_once(shard_workers, settings):
    """Two shards on two workers leave exactly what one unsharded run leaves: the same
    media files, main photos, galleries and counters."""
    stack = shard_workers
    settings.ONEC_DATA_DIR = stack.data_dir
    exchange = Exchange(stack.data_dir)
    # Photo-sized and validated: a shard lasts longer than the parent takes to trigger the
    # next one, so a worker that is done cannot take the other shard too. A main photo and
    # a gallery of two per product.
    for n in range(PRODUCTS):
        guid = f"4{n:07d}-0000-0000-0000-000000000000"
        pictures = [exchange.add_image(guid, data=make_image_bytes(size=(800, 600), noise=True))] + [
            exchange.add_image(guid, f"g{i}", data=make_image_bytes(size=(400, 300), color=(n, i, 9))) for i in (1, 2)
        ]
        Product.objects.create(onec_id=guid, onec_picture_paths=pictures)
    user = User.objects.create_superuser("shards", password="pw")

    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        session = wait_until_finished(
            import_session_launch(
                import_type="images", user=user, options=ImageImportOptions(shards=2, validate_images=True)
            ),
            stack,
        )
        with prefect_client(timeout=60) as prefect:
            shard_runs = prefect.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[session.flow_run_id]))
            )
        assert session.status == "completed", f"{session.error_message}\n{stack.logs()}"
        sharded = _imported(stack, session)
        _forget_imported(stack)
        unsharded_session = wait_until_finished(
            import_session_launch(import_type="images", user=user, options=ImageImportOptions(validate_images=True)), stack
        )
        assert unsharded_session.status == "completed", f"{unsharded_session.error_message}\n{stack.logs()}"
        unsharded = _imported(stack, unsharded_session)

    report = session.report_details
    assert (report["shards_total"], report["chunks_total"], report["chunks_done"]) == (2, 20, 20)
    assert (report["total_products"], report["processed"], report["copied"], report["errors"]) == (60, 60, 180, 0)
    # every chunk recorded once, every product has its photo and its gallery, in 1C's order
    assert sorted(ImportChunk.objects.filter(session=session).values_list("index", flat=True)) == list(range(20))
    assert all(main and len(gallery) == 2 and gallery[0].endswith("_g1.jpg") for main, gallery in sharded["pictures"].values())
    # the same as one unsharded run: files (byte for byte), pictures, counters
    assert sharded["files"] == unsharded["files"] and len(sharded["files"]) >= 180
    assert sharded["pictures"] == unsharded["pictures"]
    assert sharded["counters"] == unsharded["counters"]
    # two shard runs, subflows of the parent, each run by its own worker
    assert sorted(run.name for run in shard_runs) == ["shard-0", "shard-1"]
    assert all(run.state.is_completed() for run in shard_runs)
    logs = {name: (stack.root / f"shard-worker-{name}.log").read_text() for name in ("shard-host-a", "shard-host-b")}
    # the flow run's own first line, in the log of the worker that ran it (a worker that lost
    # the race to submit a run logs its id too, but never runs it)
    ran = {name: [run.name for run in shard_runs if f"Flow run '{run.name}' - Beginning subflow run" in log]
           for name, log in logs.items()}
    assert sorted(sum(ran.values(), [])) == ["shard-0", "shard-1"] and all(len(runs) == 1 for runs in ran.values()), ran

    _forget_imported(stack)  # leave the shared media as it was


def _shard_runs(parent_flow_run_id) -> list:
    with prefect_client(timeout=60) as prefect:  # the project's: its TLS context made once, not per poll
        return prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_flow_run_id]))
        )


def test_a_shard_whose_host_stops_is_noticed_and_run_again_elsewhere(shard_workers, settings):
    """The process running one shard is frozen (SIGSTOP) as soon as it runs: no more
    heartbeats, no more progress, as when its host dies. The parent marks it crashed and
    runs it again; the other worker takes it, and the import completes, everything once."""
    stack = shard_workers
    settings.ONEC_DATA_DIR = stack.data_dir
    exchange = Exchange(stack.data_dir)
    for n in range(40):  # photo-sized and validated: a shard takes a moment, long enough to freeze
        guid = f"5{n:07d}-0000-0000-0000-000000000000"
        picture = exchange.add_image(guid, data=make_image_bytes(size=(800, 600), noise=True))
        Product.objects.create(onec_id=guid, onec_picture_paths=[picture])
    user = User.objects.create_superuser("hosts", password="pw")
    frozen = None
    try:
        with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
            session = import_session_launch(
                import_type="images", user=user, options=ImageImportOptions(shards=2, validate_images=True)
            )
            deadline = time.monotonic() + 120
            while frozen is None and time.monotonic() < deadline:
                session.refresh_from_db()
                running = [run for run in _shard_runs(session.flow_run_id) if run.state.is_running()] if (
                    session.flow_run_id) else []
                if running and running[0].infrastructure_pid:  # the worker's fork running the shard
                    pid = int(running[0].infrastructure_pid)
                    os.kill(pid, signal.SIGSTOP)
                    frozen = ([pid], running[0].name)
                time.sleep(0.05)
            assert frozen, f"no shard run was seen running:\n{stack.logs()}"
            session = wait_until_finished(session, stack)
            runs = _shard_runs(session.flow_run_id)
    finally:
        for pid in frozen[0] if frozen else []:
            with contextlib.suppress(ProcessLookupError):  # it may have been stopped for good meanwhile
                os.kill(pid, signal.SIGKILL)

    assert session.status == "completed", f"{session.error_message}\n{stack.logs()}"
    report = session.report_details
    assert (report["processed"], report["copied"] + report["skipped"], report["errors"]) == (40, 40, 0)
    assert sorted(ImportChunk.objects.filter(session=session).values_list("index", flat=True)) == list(range(14))
    by_name = {run.name: run for run in runs}
    assert by_name[frozen[1]].state.is_crashed() and "no heartbeat for 45 s" in by_name[frozen[1]].state.message
    assert by_name[f"{frozen[1]}-rerun-1"].state.is_completed()
    assert not Product.objects.filter(main_image="").exists()
    for name in Product.objects.values_list("main_image", flat=True):  # leave the shared media as it was
        (stack.media_root / name).unlink()


def _all_ended(pids: list[int], *, seconds: float) -> bool:
    """True once none of these processes exists (their worker reaps them), within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return True
        time.sleep(0.1)
    return False


def test_cancel_during_a_sharded_import_stops_every_shard(shard_workers, settings):
    """Cancel (as the admin does it) once a shard runs: the session ends cancelled, every shard
    run ends Cancelled, running or not yet, and the processes that ran them are gone."""
    stack = shard_workers
    settings.ONEC_DATA_DIR = stack.data_dir
    exchange = Exchange(stack.data_dir)
    # Validated photos, enough that a shard is still going when the other one is created (a
    # shard of 60 products once finished in 5 s, before its sibling's run existed).
    photo = make_image_bytes(size=(800, 600), noise=True)
    for n in range(180):
        guid = f"6{n:07d}-0000-0000-0000-000000000000"
        picture = exchange.add_image(guid, data=photo)
        Product.objects.create(onec_id=guid, onec_picture_paths=[picture])
    user = User.objects.create_superuser("canceller", password="pw")
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        session = import_session_launch(
            import_type="images", user=user, options=ImageImportOptions(shards=2, validate_images=True)
        )
        deadline = time.monotonic() + 150
        runs = []
        while not (len(runs) == 2 and any(run.state.is_running() for run in runs)) and time.monotonic() < deadline:
            session.refresh_from_db()
            runs = _shard_runs(session.flow_run_id) if session.flow_run_id else []
            time.sleep(0.05)
        assert len(runs) == 2 and any(run.state.is_running() for run in runs), f"no shard ran:\n{stack.logs()}"

        import_run_cancel(session_id=session.pk, cancelled_by="e2e")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(run.state.is_final() for run in runs):
            time.sleep(0.2)
            runs = _shard_runs(session.flow_run_id)

    session.refresh_from_db()
    assert session.status == "cancelled"
    assert sorted((run.name, run.state.type.value) for run in runs) == [
        ("shard-0", "CANCELLED"), ("shard-1", "CANCELLED")], stack.logs()
    assert _all_ended([int(run.infrastructure_pid) for run in runs if run.infrastructure_pid], seconds=10)
    for name in Product.objects.exclude(main_image="").values_list("main_image", flat=True):
        (stack.media_root / name).unlink(missing_ok=True)  # leave the shared media as it was
