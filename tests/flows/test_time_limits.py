"""Time limits, proved with tiny ones: a run that exceeds ONEC_IMPORT_TIMEOUT_SECONDS is
stopped and its session fails saying how far it got, with the running slot free; an image
chunk stuck in I/O is abandoned after ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS without progress and
retried, while a chunk that keeps storing photos may take longer than that."""
import os
import re
import threading
import time

import pytest
from prefect.task_runners import ThreadPoolTaskRunner

import apps.imports.services.images_import
import flows.images
from apps.imports.options import ImageImportOptions
from apps.imports.models import ImportChunk, ImportSession
from apps.imports.services.sessions import import_session_create
from apps.products.models import Product
from apps.imports.services.images_import import product_images_import_chunk
from flows.common import StepTimeoutError, run_step_until_stalled
from flows.images import import_images

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server", "media_root")]


def _products_with_images(exchange, count):
    for n in range(count):
        guid = f"{n:02x}{n:06d}-0000-0000-0000-000000000000"
        Product.objects.create(onec_id=guid, onec_picture_paths=[exchange.add_image(guid, "p0")])


@pytest.fixture
def stalled_pipe():
    """A pipe nobody writes to: reading it blocks like a read from a hung network mount.
    Released at the end so the stuck thread can finish."""
    read_end, write_end = os.pipe()
    yield read_end
    os.write(write_end, b"x" * 64)
    os.close(write_end)


def test_a_run_over_its_time_limit_is_stopped_and_says_how_far_it_got(exchange, monkeypatch):
    _products_with_images(exchange, 6)

    def slow_chunk(**kwargs):
        time.sleep(0.8)
        return product_images_import_chunk(**kwargs)

    monkeypatch.setattr(flows.images, "product_images_import_chunk", slow_chunk)
    session = import_session_create(import_type="images", started_by="cli")
    limited = import_images.with_options(timeout_seconds=2, task_runner=ThreadPoolTaskRunner(max_workers=1))

    started = time.monotonic()
    state = limited(
        session_id=session.pk, data_dir=str(exchange.root), options=ImageImportOptions(chunk_size=1), return_state=True
    )
    elapsed = time.monotonic() - started
    session.refresh_from_db()

    assert state.name == "TimedOut" and session.status == ImportSession.Status.FAILED
    assert session.error_message.startswith("ran out of time after 2 s (ONEC_IMPORT_TIMEOUT_SECONDS); ")
    done = int(re.search(r"; (\d) of 6 chunks done, (\d) of 6 products", session.error_message).group(1))
    assert 0 < done < 6, "when the time ran out, some chunks were done and some were not"
    assert elapsed < 6, "the run ends soon after its limit: no chunk starts after it"
    # the chunk running at the limit finished and counts what it wrote; nothing started later
    recorded = ImportChunk.objects.filter(session=session).count()
    assert recorded in (done, done + 1) and session.report_details["processed"] == recorded
    assert Product.objects.exclude(main_image="").count() == recorded
    # the running slot is free: the next import starts at once
    assert import_session_create(import_type="catalog", started_by="cli").status == ImportSession.Status.PENDING


def test_a_chunk_stuck_in_io_is_abandoned_and_retried(exchange, monkeypatch, settings, stalled_pipe):
    _products_with_images(exchange, 3)
    # Longer than a healthy chunk of one photo ever took here: at 1 s, on a machine loaded by
    # a profiler, a healthy chunk was abandoned too and ran a fifth time.
    settings.ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS = 3
    calls = []

    def chunk_whose_first_read_hangs(**kwargs):
        calls.append(kwargs["product_ids"][0])
        if len(calls) == 1:
            os.read(stalled_pipe, 1)  # blocks until the test ends
        return product_images_import_chunk(**kwargs)

    monkeypatch.setattr(flows.images, "product_images_import_chunk", chunk_whose_first_read_hangs)
    monkeypatch.setattr(flows.images.import_images_chunk, "retry_delay_seconds", [0, 0, 0])
    session = import_session_create(import_type="images", started_by="cli")

    started = time.monotonic()
    state = import_images(
        session_id=session.pk, data_dir=str(exchange.root), options=ImageImportOptions(chunk_size=1), return_state=True
    )
    elapsed = time.monotonic() - started
    session.refresh_from_db()

    assert state.is_completed() and session.status == ImportSession.Status.COMPLETED
    assert len(calls) == 4 and calls.count(calls[0]) == 2  # the stuck chunk ran again
    report = session.report_details
    assert (report["processed"], report["chunks_done"], report["copied"]) == (3, 3, 3)
    assert elapsed < 10
    assert any(thread.name.startswith("import-chunk") for thread in threading.enumerate()), (
        "the abandoned attempt is still blocked in its read (it is released at teardown)"
    )


def test_the_limit_counts_from_the_last_progress_not_from_the_start():
    def steady(attempt):
        for _ in range(6):
            time.sleep(0.2)
            attempt.progressed()
        return "done"

    assert run_step_until_stalled(steady, seconds=0.6, step="chunk 0") == "done"  # 1.2 s in all

    abandoned = []

    def stalls_after_a_while(attempt):
        for _ in range(3):
            time.sleep(0.2)
            attempt.progressed()
        time.sleep(1.5)
        abandoned.append(not attempt.still_wanted())

    started = time.monotonic()
    with pytest.raises(StepTimeoutError, match=r"^chunk 1 made no progress in 0.6 s \(ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS\)"):
        run_step_until_stalled(stalls_after_a_while, seconds=0.6, step="chunk 1")
    assert 1.1 < time.monotonic() - started < 2.0, "abandoned 0.6 s after its last progress, long before it wakes"
    attempt_thread = next(thread for thread in threading.enumerate() if thread.name == "import-chunk 1")
    attempt_thread.join(timeout=30)
    assert abandoned == [True], "the abandoned attempt, once awake, is told it is no longer wanted"


def test_waiting_for_an_upload_slot_is_no_stall():
    def waits_for_a_slot(attempt):
        with attempt.waiting():  # another chunk holds every slot of the bucket's limit
            time.sleep(1.2)
        time.sleep(0.3)
        return "uploaded"

    assert run_step_until_stalled(waits_for_a_slot, seconds=0.6, step="chunk 2") == "uploaded"


def test_a_chunk_that_keeps_storing_photos_may_outlast_the_limit(exchange, monkeypatch, settings):
    """Each stored photo restarts the chunk's limit: a large chunk of slow photos (renditions
    on a busy machine) is not retried as stalled."""
    _products_with_images(exchange, 4)
    settings.ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS = 1
    store_image = apps.imports.services.images_import.store_image
    stored = []

    def slow_store_image(*args, **kwargs):
        time.sleep(0.5)
        stored.append(args[0].relative_name)
        return store_image(*args, **kwargs)

    monkeypatch.setattr(apps.imports.services.images_import, "store_image", slow_store_image)
    session = import_session_create(import_type="images", started_by="cli")

    state = import_images(
        session_id=session.pk, data_dir=str(exchange.root), options=ImageImportOptions(chunk_size=4), return_state=True
    )
    session.refresh_from_db()

    assert state.is_completed() and session.status == ImportSession.Status.COMPLETED
    assert len(stored) == 4, "one attempt of 2 s stored each photo once: it was never abandoned"
    assert (session.report_details["copied"], session.report_details["chunks_done"]) == (4, 1)
