"""The bucket's Prefect global concurrency limit caps the chunks uploading at once: with a
limit of 1, two chunk threads never upload together; its slots are free after the run."""
import asyncio
import threading
import time
from contextlib import contextmanager

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

import flows.images
from apps.imports.options import ImageImportOptions
from apps.imports.services.sessions import import_session_create
from apps.products.models import Product
from flows.images import import_images

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]


def _limit(name: str, *, create: bool = False):
    async def call():
        async with get_client() as client:
            if create:
                await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            return await client.read_global_concurrency_limit_by_name(name)

    return asyncio.run(call())


def test_a_limit_of_one_lets_one_chunk_upload_at_a_time(exchange, s3_media, monkeypatch):
    name = f"s3-uploads-{s3_media.bucket}"
    _limit(name, create=True)
    for n in range(8):
        guid = f"{n:02x}dd0000-{n}"
        Product.objects.create(onec_id=guid, onec_picture_paths=[exchange.add_image(guid, f"p{i}") for i in range(3)])
    inside, most, names = [0], [0], []
    lock = threading.Lock()
    real_slots = flows.images._upload_slots

    def watched_slots():
        slots = real_slots()

        @contextmanager
        def held():
            with slots():  # the real Prefect limit first; then count who got in
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                    names.append(name)
                try:
                    time.sleep(0.3)  # long enough for the other chunk thread to try meanwhile
                    yield
                finally:
                    with lock:
                        inside[0] -= 1

        return held

    monkeypatch.setattr(flows.images, "_upload_slots", watched_slots)
    session = import_session_create(import_type="images", started_by="cli")

    state = import_images(
        session_id=session.pk, data_dir=str(exchange.root), options=ImageImportOptions(chunk_size=2), return_state=True
    )

    session.refresh_from_db()
    assert state.is_completed(), session.error_message
    assert session.report_details["copied"] == 24 and len(s3_media.keys()) == 24
    assert (len(names), most[0]) == (4, 1)  # 4 chunks uploaded, never two at once
    assert _limit(name).active_slots == 0


def test_no_slot_is_taken_when_nothing_is_uploaded(exchange, s3_media, monkeypatch):
    guid = "0fdd0000-x"
    Product.objects.create(onec_id=guid, onec_picture_paths=[exchange.add_image(guid, "p")])
    import_images(data_dir=str(exchange.root), return_state=True)
    taken = []
    real_slots = flows.images._upload_slots
    monkeypatch.setattr(flows.images, "_upload_slots", lambda: (lambda: taken.append(1) or real_slots()()))

    state = import_images(data_dir=str(exchange.root), return_state=True)

    assert state.is_completed() and taken == []
