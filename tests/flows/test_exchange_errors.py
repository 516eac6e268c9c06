"""Refused records of the exchange imports are shown like refused image files: on the
session page, in the session list's error count, in the session's message and in Prefect's
error table; and a retried file does not count its records twice."""
import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from prefect.client.orchestration import get_client

import flows.exchange
from apps.imports.models import ImportSession
from apps.imports.selectors import import_session_error_details
from apps.imports.services.sessions import import_session_create
from apps.products.models import Price, Product
from flows.catalog import import_catalog
from flows.prices import import_prices
from commerceml import writer as cml
from tests.exchange_builders import Exchange31

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]


@pytest.fixture
def viewer(client):
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    return client


def _run(flow, import_type, root):
    session = import_session_create(import_type=import_type, started_by="cli")
    state = flow(session_id=session.pk, data_dir=str(root), return_state=True)
    session.refresh_from_db()
    return state, session


def _error_artifact_rows(flow_run_id, key) -> list[dict]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[key])
            )
        )
    assert artifacts, f"no {key} artifact on flow run {flow_run_id}"
    data = artifacts[0].data
    return json.loads(data) if isinstance(data, str) else data


def _assert_shown_in_admin(viewer, session, *, reason_part: str):
    page = viewer.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()
    assert "Ошибки по записям обмена: 1" in page and reason_part in page
    assert "Завершён с ошибками" in page

    listing = viewer.get(reverse("admin:integrations_importsession_changelist")).content.decode()
    assert f'data-import-session="{session.pk}" data-field="errors">1<' in listing
    assert 'title="Записей с ошибками"' in listing


def test_goods_without_id_are_reported_on_the_session_page_list_and_message(tmp_path, viewer):
    ex = Exchange31(tmp_path / "exchange")
    ex.goods(cml.Goods("", "Без Ид"), cml.Goods("g1", "Мяч"))

    state, session = _run(import_catalog, "catalog", ex.root)

    assert state.is_completed() and session.status == ImportSession.Status.COMPLETED
    assert session.outcome == ImportSession.Outcome.COMPLETED_WITH_ERRORS
    assert (session.report_details["created"], session.report_details["errors"]) == (1, 1)
    (error,), total = import_session_error_details(session_id=session.pk)
    assert total == 1 and "has no <Ид>" in error["reason"] and error["file"].endswith("goods.xml")
    assert session.error_message.startswith("1 record(s) were not imported; the first: ")
    assert "has no <Ид>" in session.error_message and "See the per-record errors." in session.error_message
    _assert_shown_in_admin(viewer, session, reason_part="без &lt;Ид&gt;; пропущен")
    rows = _error_artifact_rows(session.flow_run_id, "import-catalog-errors")
    # Prefect's errors table in the site's language: its columns and the reason.
    assert len(rows) == 1 and "без <Ид>; пропущен" in rows[0]["Причина"] and rows[0]["Файл"].endswith("goods.xml")
    assert Product.objects.filter(onec_id="g1").exists()


def test_a_price_that_is_not_a_number_is_reported_on_the_session_page_list_and_message(tmp_path, viewer):
    Product.objects.create(onec_id="g1", name="Мяч")
    ex = Exchange31(tmp_path / "exchange")
    ex.price_lists(cml.PriceType("retail", "Розничная"))
    ex.prices(cml.Offer("g1", prices=[cml.Price("retail", "двести", "RUB")]),
              cml.Offer("g1#c1", prices=[cml.Price("retail", "150", "RUB")]))

    state, session = _run(import_prices, "prices", ex.root)

    assert state.is_completed() and session.outcome == ImportSession.Outcome.COMPLETED_WITH_ERRORS
    assert session.report_details["errors"] == 1
    (error,), _ = import_session_error_details(session_id=session.pk)
    assert error["product"] == "g1" and "'двести'" in error["reason"] and "is not a number" in error["reason"]
    assert session.error_message.startswith("1 record(s) were not imported; the first: g1, ")
    _assert_shown_in_admin(viewer, session, reason_part="— не число; пропущена")
    assert list(Price.objects.values_list("offer_onec_id", flat=True)) == ["g1#c1"]


def test_a_retried_file_replaces_its_own_errors_and_counts(tmp_path, monkeypatch):
    """The first attempt of the goods file writes its records, then loses its database
    connection before it is recorded; the retry records it once."""
    from django.db import OperationalError

    ex = Exchange31(tmp_path / "exchange")
    ex.goods(cml.Goods("", "Без Ид"), cml.Goods("g1", "Мяч"))
    original = flows.exchange.import_session_record_chunk
    attempts = []

    def record_after_a_lost_connection(**kwargs):
        attempts.append(kwargs["chunk_index"])
        if len(attempts) == 1:
            original(**kwargs)  # recorded, and then the connection drops before the task ends
            raise OperationalError("server closed the connection unexpectedly")
        return original(**kwargs)

    monkeypatch.setattr(flows.exchange, "import_session_record_chunk", record_after_a_lost_connection)
    monkeypatch.setattr(flows.exchange.import_exchange_file, "retry_delay_seconds", [0, 0, 0])

    state, session = _run(import_catalog, "catalog", ex.root)

    assert state.is_completed() and attempts == [0, 0]
    # the retry found g1 written by the first attempt: one product, counted once
    report = session.report_details
    assert (report["created"] + report["updated"], report["errors"]) == (1, 1)
    assert session.report_details["processed"] == session.report_details["total_files"] == 1
    assert import_session_error_details(session_id=session.pk)[1] == 1
