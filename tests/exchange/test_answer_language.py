"""1C's operator reads the exchange's answers in the site's language (`ru` by default), through
the real protocol view: `failure` (a refusal, a file the preparation could not lay out),
`progress` and `success`, UTF-8 behind a byte-order mark; an answer stored before the
exchange kept its texts as messages is answered as it was stored, and the admin's exchange
log shows both."""
from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone, translation

from apps.imports.models import ImportSession
from apps.onec_exchange.models import Exchange1C, ExchangeImport
from apps.onec_exchange.services import messages
from tests.exchange.client_1c import BOM, OneC, django_client_transport, zip_bytes
from tests.exchange.conftest import PASSWORD

# The preparation runs run in threads of their own (with their own database connections).
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refusal_reaches_1c_in_russian_utf8_behind_a_bom(client, exchange_user, settings):
    assert settings.LANGUAGE_CODE == "ru"
    # 1C asks in whatever language its Windows has: the answer is in the site's.
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/1c/exchange?type=catalog&mode=checkauth")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.startswith(BOM.encode("utf-8"))
    assert response.content.decode("utf-8") == (
        BOM + "failure\nнет учётных данных HTTP Basic: укажите имя пользователя и пароль в настройках обмена 1С"
    )
    wrong = OneC(django_client_transport(client), "onec", "wrong")
    assert wrong.checkauth() == ["failure", (
        "вход отклонён: неверное имя пользователя или пароль, или пользователю не разрешён обмен с сайтом "
        "(что именно — в журнале сайта и в разделе «Отказы во входе» админки)"
    )]
    assert wrong.request("init") == ["failure", "нет сеанса обмена: сначала вызовите mode=checkauth и передавайте его cookie"]


def test_success_and_a_failed_preparation_reach_1c_in_russian(onec, exchange_dirs):
    onec.checkauth()
    onec.init()
    onec.send_file("units/единицы.xml", b"<x/>")

    assert onec.import_file("units/единицы.xml") == ["success", "units/единицы.xml: получен, импортировать из него нечего"]
    with translation.override("en"):  # a language left active in the web process's thread changes nothing
        assert onec.import_file("units/единицы.xml")[1] == "units/единицы.xml: получен, импортировать из него нечего"

    archive = zip_bytes({"units/units.xml": b"<x/>" * 1000})
    onec.send_file("exchange.zip", archive[: len(archive) // 2])
    answer = onec.import_file("units/units.xml")
    assert answer[0] == "failure" and answer[1].startswith("архив exchange.zip неполный или повреждён (")
    assert answer[1].endswith("): 1С должна отправить его снова")


def test_progress_reaches_1c_in_russian(client, exchange_user, exchange_dirs, prepare_deployment):
    """No worker picks the preparation run up: 1C hears what the import waits for. A poll
    whose Prefect request does not end in its time (a busy machine) says so, and the next
    asks again, as 1C polls."""
    onec = OneC(django_client_transport(client), "onec", PASSWORD)
    onec.checkauth()
    onec.init()
    onec.send_file("units/units.xml", b"<x/>")

    handing_over = ["progress", "units/units.xml: импорт передаётся в Prefect"]
    deadline = time.monotonic() + 120  # a poll's Prefect request on a machine as loaded as CI's
    while (answer := onec.request("import", filename="units/units.xml")) == handing_over:
        assert time.monotonic() < deadline, "the preparation run was never created in Prefect"

    record = ExchangeImport.objects.get()
    assert answer == [
        "progress",
        f"units/units.xml: ожидание воркера для подготовки импорта (запуск потока Prefect {record.flow_run_id})",
    ]
    assert record.progress["message"].startswith("%(file)s: waiting for a worker")  # stored in English, with its values


@pytest.fixture
def stored_before_the_upgrade(client, exchange_user, exchange_dirs):
    """An exchange with imports whose texts were stored as plain text (English), as before."""
    onec = OneC(django_client_transport(client), "onec", PASSWORD)
    onec.checkauth()
    exchange = Exchange1C.objects.get()
    rows = {
        "goods/goods.xml": ("completed", "«Product catalog» #7: created: 3\nold second line", None),
        "offers/offers.xml": ("failed", "archive import.zip is incomplete or damaged: 1C should send it again", None),
        "prices/prices.xml": ("running", "", "unpacking import.zip: 3 of 40 files"),
    }
    for path, (status, message, progress) in rows.items():
        ExchangeImport.objects.create(
            exchange=exchange, filename=path, path=path, status=status, message=message, progress=progress,
            flow_run_id="00000000-0000-4000-8000-000000000001", finished_at=None if progress else timezone.now(),
        )
    return onec, exchange


def test_answers_stored_before_the_upgrade_reach_1c_as_stored(stored_before_the_upgrade):
    onec, _ = stored_before_the_upgrade

    assert onec.request("import", filename="goods/goods.xml") == ["success", "«Product catalog» #7: created: 3", "old second line"]
    assert onec.request("import", filename="offers/offers.xml") == [
        "failure", "archive import.zip is incomplete or damaged: 1C should send it again"
    ]
    assert onec.request("import", filename="prices/prices.xml") == ["progress", "unpacking import.zip: 3 of 40 files"]


def test_the_exchange_log_shows_new_texts_in_russian_and_old_ones_as_stored(stored_before_the_upgrade, client):
    _, exchange = stored_before_the_upgrade
    ExchangeImport.objects.create(
        exchange=exchange, filename="units/units.xml", path="units/units.xml", status="completed",
        message=[messages.stored(messages.nothing_to_import("units/units.xml"))],
    )
    ExchangeImport.objects.create(
        exchange=exchange, filename="rests/rests.xml", path="rests/rests.xml", status="running",
        progress=messages.stored(messages.moving_files(12, more=False)),
    )
    client.force_login(User.objects.create_superuser("admin", password="pw"))

    page = client.get(f"/admin/onec_exchange/exchange1c/{exchange.pk}/change/").content.decode()

    assert "units/units.xml: получен, импортировать из него нечего" in page
    assert "перенос файлов в каталог обмена: осталось 12" in page
    assert "«Product catalog» #7: created: 3<br>old second line" in page
    assert "unpacking import.zip: 3 of 40 files" in page


def test_a_completed_imports_counts_read_well_in_russian_and_english(stored_before_the_upgrade):
    """`success` names each count as «Товары: создано — 3»: the labels hold a colon of their
    own, so a count never reads «Товары: создано: 3»."""
    onec, exchange = stored_before_the_upgrade
    session = ImportSession.objects.create(
        import_type="catalog", status="completed", started_by="exchange", running_slot=None,
        report_details={"total_files": 1, "processed": 1, "created": 3, "updated": 0, "errors": 0},
    )
    record = ExchangeImport.objects.create(
        exchange=exchange, filename="goods/goods2.xml", path="goods/goods2.xml", status="completed", message=[],
        finished_at=timezone.now(),
    )
    record.sessions.add(session)

    said = f"«Каталог товаров» #{session.pk}: Товары: создано — 3, Товары: обновлено — 0, Записей с ошибками — 0"
    assert onec.request("import", filename="goods/goods2.xml") == ["success", said]
    with translation.override("en"):
        assert messages.result_lines(record) == [
            f"«Product catalog» #{session.pk}: Goods: created — 3, Goods: updated — 0, Records with errors — 0"
        ]
