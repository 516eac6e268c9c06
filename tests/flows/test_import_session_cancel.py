"""Cancel from the admin against a real Prefect server: the flow run is cancelled, the
session ends `cancelled`, and what was imported before stays consistent."""
import time

import pytest
from django.urls import reverse
from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.states import Running, Scheduled

from apps.imports.models import ImportChunk, ImportSession
from apps.imports.services.sessions import import_session_create, import_session_start
from apps.products.models import Product
from flows.images import import_images
from tests.flows.helpers import add_products_with_photos, start_image_import_in_thread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]

PRODUCTS = 60
CHUNK_SIZE = 2


def _cancel(admin_client, session_id):
    return admin_client.post(reverse("admin:integrations_importsession_cancel", args=[session_id]), follow=True)


def _flow_run_state(flow_run_id):
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def _session_with_flow_run(state) -> ImportSession:
    session = import_session_create(import_type="images", started_by=ImportSession.StartedBy.ADMIN)
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run(import_images, parameters={"session_id": session.pk}, state=state)
    if state.is_running():
        import_session_start(session_id=session.pk, flow_run_id=flow_run.id)
    else:
        ImportSession.objects.filter(pk=session.pk).update(flow_run_id=flow_run.id)
    return ImportSession.objects.get(pk=session.pk)


def test_a_run_no_worker_picked_up_yet_is_cancelled_in_prefect(admin_client):
    session = _session_with_flow_run(Scheduled())

    response = _cancel(admin_client, session.pk)

    session.refresh_from_db()
    assert session.status == ImportSession.Status.CANCELLED and session.running_slot is None
    assert session.error_message == "cancelled by admin in the admin"
    assert _flow_run_state(session.flow_run_id).type == StateType.CANCELLED
    assert f"Сессия #{session.pk} отменена" in response.content.decode()


def test_a_running_run_is_asked_to_stop_and_the_session_ends_cancelled(admin_client):
    session = _session_with_flow_run(Running())

    _cancel(admin_client, session.pk)

    session.refresh_from_db()
    assert session.status == ImportSession.Status.CANCELLED
    # A worker sees Cancelling, stops the run's process and marks it Cancelled.
    assert _flow_run_state(session.flow_run_id).type == StateType.CANCELLING


def test_cancel_mid_import_stops_the_flow_and_keeps_what_was_imported(admin_client, admin_user, exchange, media_root):
    data_dir = add_products_with_photos(exchange, count=PRODUCTS)
    running = start_image_import_in_thread(user=admin_user, data_dir=data_dir, chunk_size=CHUNK_SIZE)
    deadline = time.monotonic() + 120  # a guard against hanging, not a measurement
    while ImportSession.objects.get(pk=running.session_id).report_details.get("processed", 0) < 2 * CHUNK_SIZE:
        assert running.thread.is_alive(), "the import ended before it could be cancelled"
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.05)

    _cancel(admin_client, running.session_id)
    running.wait()

    session = ImportSession.objects.get(pk=running.session_id)
    report = session.report_details
    assert session.status == ImportSession.Status.CANCELLED
    assert session.error_message.startswith("cancelled by admin in the admin")
    assert running.final_state.is_cancelled()
    assert _flow_run_state(session.flow_run_id).type == StateType.CANCELLED
    assert 2 * CHUNK_SIZE <= report["processed"] < PRODUCTS
    # Consistent: exactly the products of the recorded chunks have their photo, each on disk.
    with_photo = Product.objects.exclude(main_image="")
    assert with_photo.count() == report["processed"] == report["copied"]
    assert all((media_root / name).is_file() for name in with_photo.values_list("main_image", flat=True))
    recorded = ImportChunk.objects.filter(session=session).values_list("counters", flat=True)
    assert sum(counters["processed"] for counters in recorded) == report["processed"]
