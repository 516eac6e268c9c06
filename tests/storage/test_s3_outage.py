"""The S3 server stops in the middle of a run and comes back: the session says which
storage failed (in the site's language), no product points at a photo that was not stored, and a re-run finishes
the job with nothing duplicated or lost. A server of its own, so the others' stays up."""
import pytest
from django.utils import translation
from prefect.task_runners import ThreadPoolTaskRunner

import flows.images
from apps.imports.options import ImageImportOptions
from apps.imports.services.sessions import import_session_create
from apps.products.models import Product
from apps.media.models import StoredImage
from apps.imports.services.images_import import product_images_import_chunk
from flows.images import import_images
from tests.storage.conftest import s3_client, use_s3_storage
from devtools.seaweed import seaweed_start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]


@pytest.fixture
def own_seaweed(tmp_path):
    server = seaweed_start(data_dir=tmp_path / "seaweedfs")
    yield server
    server.stop()


def _run(exchange):
    session = import_session_create(import_type="images", started_by="cli")
    one_chunk_at_a_time = import_images.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    state = one_chunk_at_a_time(
        session_id=session.pk, data_dir=str(exchange.root), options=ImageImportOptions(chunk_size=5), return_state=True
    )
    session.refresh_from_db()
    return state, session


def test_s3_stopped_mid_run_then_started_again(exchange, own_seaweed, settings, monkeypatch):
    settings.ONEC_IMAGE_RENDITIONS = ""  # the photos' own objects are counted
    use_s3_storage(settings, {**own_seaweed.environ(), "AWS_MAX_ATTEMPTS": "2", "AWS_S3_CONNECT_TIMEOUT": "1"})
    for n in range(15):
        guid = f"{n:02x}cc0000-{n}"
        Product.objects.create(onec_id=guid, onec_picture_paths=[exchange.add_image(guid, f"p{i}") for i in range(2)])
    calls = []

    def chunk_while_the_server_dies(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            own_seaweed.stop()
        return product_images_import_chunk(**kwargs)

    monkeypatch.setattr(flows.images, "product_images_import_chunk", chunk_while_the_server_dies)
    monkeypatch.setattr(flows.images.import_images_chunk, "retry_delay_seconds", [0, 0, 0])

    state, session = _run(exchange)

    assert state.is_failed() and session.status == "failed"
    assert f"S3 bucket 'media' at {own_seaweed.endpoint_url}" in session.error_message
    assert "2 of 3 chunks failed" in session.error_message
    with translation.override("ru"):  # the site's language: the storage's words translated too
        said = session.error_message_text
    assert said.startswith("2 из 3 частей не выполнены после повторов (часть ") and "бакет S3 'media' на" in said
    done = session.report_details["processed"]
    assert done == 5 and session.report_details["copied"] == 10  # the chunk before the outage
    shown = [p for p in Product.objects.all() if p.main_image]
    assert len(shown) == done  # no product points at a photo that was not stored
    assert StoredImage.objects.count() == 2 * done

    own_seaweed.start()
    monkeypatch.setattr(flows.images, "product_images_import_chunk", product_images_import_chunk)
    state, rerun = _run(exchange)

    assert state.is_completed(), rerun.error_message
    assert rerun.report_details["copied"] + rerun.report_details["skipped"] == 30
    assert rerun.report_details["skipped"] >= 10
    client = s3_client(own_seaweed)
    keys = [item["Key"] for item in client.list_objects_v2(Bucket="media")["Contents"]]
    assert len(keys) == len(set(keys)) == 30
    for product in Product.objects.all():
        assert product.main_image and len(product.gallery_images) == 1
        assert product.stored_images.count() == 2
