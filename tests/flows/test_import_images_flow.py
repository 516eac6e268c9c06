"""The import-images flow under a real Prefect server, on real files and the real database."""
import pytest
from django.db import OperationalError

import flows.images
from apps.imports.options import ImageImportOptions
from apps.imports.models import ImportChunk, ImportSession
from apps.imports.services.sessions import import_session_create
from apps.products.models import Product
from apps.imports.services.images_import import product_images_import_chunk
from flows.images import import_images

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server", "media_root")]


def _session():
    return import_session_create(import_type="images", started_by="cli")


def _run(session, exchange, **kwargs):
    state = import_images(
        session_id=session.pk, data_dir=str(exchange.root), options=ImageImportOptions(**kwargs), return_state=True
    )
    session.refresh_from_db()
    return state


def _products_with_images(exchange, count, images_each=2):
    for n in range(count):
        guid = f"{n % 256:02x}{n:06d}-0000-0000-0000-000000000000"
        pictures = [exchange.add_image(guid, f"p{i}") for i in range(images_each)]
        Product.objects.create(onec_id=guid, onec_picture_paths=pictures)


def test_success_mirrors_counters_into_the_session(exchange):
    _products_with_images(exchange, 5)
    Product.objects.create(onec_id="ff000000-no-images")
    Product.objects.create(onec_id="fe000000-inactive", is_active=False)
    session = _session()

    state = _run(session, exchange)

    assert state.is_completed()
    assert session.status == "completed" and session.flow_run_id and session.finished_at
    report = session.report_details
    assert {k: report[k] for k in ("total_products", "processed", "copied", "skipped", "errors", "products_without_images")} == {
        "total_products": 6, "processed": 6, "copied": 10, "skipped": 0, "errors": 0, "products_without_images": 1,
    }
    assert report["last_updated"]
    assert _artifact_keys(session.flow_run_id) >= {"import-images-summary"}


def test_per_file_errors_reach_the_session_and_a_prefect_table(exchange):
    _products_with_images(exchange, 2)
    Product.objects.create(onec_id="0e000000-bad", onec_picture_paths=["import_files/../../etc/passwd.jpg"])
    session = _session()

    _run(session, exchange)

    assert session.status == "completed" and session.report_details["errors"] == 1
    assert "security:" in session.error_message and "0e000000-bad" in session.error_message
    assert _artifact_keys(session.flow_run_id) >= {"import-images-summary", "import-images-errors"}


def _artifact_keys(flow_run_id) -> set[str]:
    import asyncio

    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            # The 3.8.8 client sends nulls this server version refuses; ask the API directly.
            response = await client.request(
                "POST",
                "/artifacts/filter",
                json={"artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}}, "limit": 200, "offset": 0,
                      "sort": "CREATED_DESC"},
            )
            return response.json()

    artifacts = asyncio.run(read())
    kinds = {artifact["type"] for artifact in artifacts}
    assert "progress" in kinds
    return {artifact["key"] for artifact in artifacts if artifact["key"]}


def test_no_products_fails_with_a_clear_message(exchange):
    session = _session()
    state = _run(session, exchange)
    assert state.is_failed()
    assert session.status == "failed"
    assert "no active products" in session.error_message and "import_1c catalog" in session.error_message


def test_missing_directory_fails_naming_the_path(tmp_path):
    Product.objects.create(onec_id="01000000-a")
    session = _session()
    state = import_images(session_id=session.pk, data_dir=str(tmp_path / "nowhere"), return_state=True)
    session.refresh_from_db()
    assert state.is_failed() and session.status == "failed"
    assert str(tmp_path / "nowhere" / "goods" / "import_files") in session.error_message


def test_250_products_make_3_chunks(exchange):
    _products_with_images(exchange, 250, images_each=1)
    session = _session()

    _run(session, exchange, chunk_size=100)

    assert session.status == "completed"
    assert session.report_details["chunks_total"] == 3
    chunks = ImportChunk.objects.filter(session=session).order_by("index")
    assert [chunk.counters["processed"] for chunk in chunks] == [100, 100, 50]
    assert session.report_details["copied"] == 250


def test_a_chunk_that_loses_the_database_is_retried_and_counted_once(exchange, monkeypatch):
    _products_with_images(exchange, 30)
    calls = []

    def flaky_chunk(**kwargs):
        calls.append(kwargs["product_ids"][0])
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return product_images_import_chunk(**kwargs)

    monkeypatch.setattr(flows.images, "product_images_import_chunk", flaky_chunk)
    monkeypatch.setattr(flows.images.import_images_chunk, "retry_delay_seconds", [0, 0, 0])
    session = _session()

    _run(session, exchange, chunk_size=10)

    assert session.status == "completed"
    assert len(calls) == 4  # 3 chunks, one of them twice
    assert (session.report_details["processed"], session.report_details["copied"]) == (30, 60)


def test_a_chunk_failing_on_bad_input_is_not_retried_and_fails_the_run(exchange, monkeypatch):
    _products_with_images(exchange, 30)
    calls = []

    def broken_chunk(**kwargs):
        calls.append(1)
        if kwargs["product_ids"][0] == Product.objects.order_by("id").values_list("id", flat=True)[10]:
            raise ValueError("cannot handle this product")
        return product_images_import_chunk(**kwargs)

    monkeypatch.setattr(flows.images, "product_images_import_chunk", broken_chunk)
    session = _session()

    state = _run(session, exchange, chunk_size=10)

    assert state.is_failed() and session.status == "failed"
    assert len(calls) == 3
    assert "1 of 3 chunks failed" in session.error_message and "cannot handle this product" in session.error_message
    assert session.report_details["processed"] == 20  # the other chunks were imported


def test_scheduled_run_creates_its_own_session(exchange):
    _products_with_images(exchange, 2)
    state = import_images(data_dir=str(exchange.root), return_state=True)
    session = ImportSession.objects.get()
    assert state.is_completed()
    assert (session.started_by, session.status, session.report_details["copied"]) == ("schedule", "completed", 4)
