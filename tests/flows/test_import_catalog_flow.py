"""The import-catalog flow: bad goods XML fails the run naming the file and the line."""
import pytest

from apps.imports.selectors import import_session_error_details
from apps.imports.services.sessions import import_session_create
from apps.products.models import Product
from flows.catalog import import_catalog

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]


def _run(exchange):
    session = import_session_create(import_type="catalog", started_by="cli")
    state = import_catalog(session_id=session.pk, data_dir=str(exchange.root), return_state=True)
    session.refresh_from_db()
    return state, session


def test_truncated_goods_xml_fails_with_file_and_line(exchange):
    for n in range(3):
        exchange.add_goods(f"g{n}")
    path = exchange.write_goods_xml()
    path.write_bytes(path.read_bytes()[:-100])

    state, session = _run(exchange)

    assert state.is_failed() and session.status == "failed"
    assert f"{path}: line 1" in session.error_message and "malformed XML" in session.error_message


def test_wrong_encoding_fails_with_file_and_line(exchange):
    exchange.add_goods("g1", name="Гантель")
    path = exchange.write_goods_xml()
    path.write_bytes(path.read_bytes().decode("utf-8").encode("cp1251"))  # says UTF-8, is cp1251

    state, session = _run(exchange)

    assert session.status == "failed" and f"{path}: line 1" in session.error_message
    assert not Product.objects.exists()


def test_goods_without_id_are_skipped_and_reported(exchange):
    exchange.add_goods("", name="Без Ид")
    exchange.add_goods("g1")
    exchange.write_goods_xml()

    state, session = _run(exchange)

    assert state.is_completed()
    assert (session.report_details["created"], session.report_details["errors"]) == (1, 1)
    assert "has no <Ид>" in import_session_error_details(session_id=session.pk)[0][0]["reason"]


def test_no_goods_files_fails_naming_the_directory(tmp_path):
    session = import_session_create(import_type="catalog", started_by="cli")
    state = import_catalog(session_id=session.pk, data_dir=str(tmp_path), return_state=True)
    session.refresh_from_db()
    assert state.is_failed() and f"no goods files in {tmp_path}" in session.error_message
