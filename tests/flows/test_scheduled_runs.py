"""Scheduled runs (no session id) make their own session, or a refused one saying why."""
import pytest
from django.utils import translation

from apps.imports.models import ImportSession
from apps.imports.services.sessions import import_session_create
from flows.catalog import import_catalog
from flows.customers import import_customers
from flows.images import import_images

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]


def test_scheduled_run_creates_and_completes_its_own_session(sample_dir, media_root):
    state = import_catalog(data_dir=str(sample_dir), return_state=True)

    assert state.is_completed()
    session = ImportSession.objects.get()
    assert (session.started_by, session.status, session.report_details["created"]) == ("schedule", "completed", 3)
    assert session.flow_run_id


def test_scheduled_run_while_another_import_runs_records_a_refusal(exchange, media_root):
    running = import_session_create(import_type="catalog", started_by="cli")

    state = import_images(data_dir=str(exchange.root), return_state=True)

    assert state.is_failed()
    refused = ImportSession.objects.exclude(pk=running.pk).get()
    assert (refused.started_by, refused.import_type, refused.status) == ("schedule", "images", "failed")
    assert refused.error_message == (
        f"scheduled run skipped: another import is already running: session #{running.pk} "
        "(Product catalog, Pending); the next scheduled run will try again"
    )
    with translation.override("ru"):  # the stored message, shown in the site's language
        assert refused.error_message_text == (
            f"запуск по расписанию пропущен: уже выполняется другой импорт: сессия #{running.pk} "
            "(Каталог товаров, Ожидает); следующий запуск по расписанию попробует снова"
        )
    assert refused.flow_run_id and refused.running_slot is None and refused.finished_at
    running.refresh_from_db()
    assert running.status == "pending"


def test_scheduled_exchange_import_refuses_the_same_way(exchange, media_root):
    running = import_session_create(import_type="images", started_by="admin")

    state = import_customers(data_dir=str(exchange.root), return_state=True)

    assert state.is_failed()
    refused = ImportSession.objects.exclude(pk=running.pk).get()
    assert (refused.import_type, refused.status, refused.started_by) == ("customers", "failed", "schedule")
    assert f"another import is already running: session #{running.pk}" in refused.error_message
