"""The real 1C sample sent over HTTP by the 1C client simulator to a live Django server,
imported by a real Prefect server, its deployments and a process worker: as one archive in
`file_limit` pieces in one session, and as a session per file without an archive; and a
full exchange followed by `deactivate`."""
from __future__ import annotations

import shutil
import threading

import pytest
from django.contrib.auth.models import User

from apps.imports.models import ImportSession
from apps.onec_exchange.models import Exchange1C, ExchangeImport
from apps.products.models import Price, Product, ProductVariant, Stock
from tests.conftest import make_image_bytes, media_files
from tests.exchange.client_1c import OneC, exchange_files, http_transport
from tests.exchange.conftest import PASSWORD, grant_exchange
from commerceml import writer as cml
from commerceml.layout import picture_path
from tests.exchange_builders import write_exchange_2x

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

POLL_LIMIT_SECONDS = 2.0


@pytest.fixture(autouse=True)
def empty_exchange_directory(exchange_stack):
    """Each test starts with an empty database, so with an empty exchange directory and
    staging area too (an earlier test's 3.1 folders would hide a 2.x exchange's files)."""
    for directory in (exchange_stack.data_dir, exchange_stack.root / "staging"):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()


def _onec(stack) -> OneC:
    grant_exchange(User.objects.create_user("onec", password=PASSWORD))
    return OneC(http_transport(stack.django_url), "onec", PASSWORD, poll_seconds=0.3)


def _assert_imported(stack, results: dict[str, list[str]]) -> None:
    failed = {name: lines for name, lines in results.items() if lines[0] != "success"}
    assert not failed, f"{failed}\n{stack.logs()}"
    assert Product.objects.filter(is_active=True).count() == 3
    pictures = sum(bool(p.main_image) + len(p.gallery_images) for p in Product.objects.all())
    assert pictures == 13
    assert len(media_files(stack.media_root)) == 13
    assert Price.objects.exists() and Stock.objects.exists()
    statuses = set(ImportSession.objects.values_list("import_type", "status", "started_by"))
    assert statuses == {(kind, "completed", "exchange") for kind in ("catalog", "images", "prices", "stocks")}


def test_the_sample_as_one_archive_in_pieces_in_one_session(exchange_stack, sample_dir):
    onec = _onec(exchange_stack)
    files = exchange_files(sample_dir)

    results = onec.exchange_one_zip(files)

    _assert_imported(exchange_stack, results)
    assert onec.file_limit == 256 * 1024 and sum(1 for a in onec.answers if a == ["success"]) > 10  # pieces
    assert results["goods/goods.xml"][1].startswith("«Каталог товаров» #")
    assert any(line.startswith("«Изображения товаров» #") and "Файлов скопировано — 13" in line
               for line in results["goods/goods.xml"])
    assert onec.slowest_import_answer <= POLL_LIMIT_SECONDS
    # One run per type: every later file was laid out before the run that reads it began.
    assert ImportSession.objects.count() == 4
    exchange = Exchange1C.objects.get()
    assert exchange.closed_at and exchange.files.get(path="import.zip").size > 2_000_000
    assert ExchangeImport.objects.filter(status="completed").count() == len([n for n in files if n.endswith(".xml")])
    assert not (exchange_stack.root / "staging" / str(exchange.pk)).exists()  # cleared at complete


def test_the_sample_as_a_session_per_file_without_an_archive(exchange_stack, sample_dir):
    onec = _onec(exchange_stack)
    files = {
        # 1C names pictures from import_files/, beside the goods XML
        (name.removeprefix("goods/") if "/import_files/" in name else name): data
        for name, data in exchange_files(sample_dir).items()
    }

    results = onec.exchange_per_file(files)

    _assert_imported(exchange_stack, results)
    assert onec.slowest_import_answer <= POLL_LIMIT_SECONDS
    assert Exchange1C.objects.count() == len(files) + 1
    assert Exchange1C.objects.filter(closed_at__isnull=True).count() == 0


def test_a_failing_import_is_answered_failure_with_the_reason(exchange_stack):
    onec = _onec(exchange_stack)
    onec.checkauth()
    onec.init()
    onec.send_file("contragents/contragents.xml", b"<?xml version='1.0'?><Broken>")

    answer = onec.import_file("contragents/contragents.xml")

    session = ImportSession.objects.get()
    assert answer[0] == "failure", f"{answer}\n{exchange_stack.logs()}"
    assert answer[1].startswith(f"«Контрагенты» #{session.pk} ошибка: ")
    # The session's reason, in the site's language as the whole answer (its English is in the session).
    assert "contragents.xml: строка 1" in answer[1] and "некорректный XML" in answer[1]
    assert session.status == "failed" and "malformed XML" in session.error_message


def _full_2x_exchange(root, goods: dict[str, str]) -> dict[str, bytes]:
    """A full CommerceML 2.x exchange of `goods` (guid -> name): import.xml, and offers.xml
    with a size characteristic, a price and a stock for each."""
    write_exchange_2x(
        root,
        goods=[cml.Goods(guid, name) for guid, name in goods.items()],
        price_types=[cml.PriceType("pt", "Розница")],
        warehouses=[cml.Warehouse("w1", "Основной")],
        offers=[
            cml.Offer(f"{guid}#m", name, characteristics={"Размер": "M"}, prices=[cml.Price("pt", "990", "RUB")],
                      stocks_2x={"w1": "4"})
            for guid, name in goods.items()
        ],
        only_changes=False,
    )
    return {name: (root / name).read_bytes() for name in ("import.xml", "offers.xml")}


def test_deactivate_after_a_full_exchange_per_file_removes_what_1c_no_longer_sends(exchange_stack, tmp_path):
    onec = _onec(exchange_stack)
    first = onec.exchange_per_file(_full_2x_exchange(tmp_path / "first", {"g1": "Мяч", "g2": "Ракетка"}), full=True)
    assert {name: lines[0] for name, lines in first.items()} == dict.fromkeys(first, "success"), exchange_stack.logs()
    assert ProductVariant.objects.filter(is_active=True).count() == 2
    assert Price.objects.count() == Stock.objects.count() == 2

    # The next full exchange no longer has g2; each file comes in an exchange of its own.
    second = onec.exchange_per_file(_full_2x_exchange(tmp_path / "second", {"g1": "Мяч"}), full=True)

    assert {name: lines[0] for name, lines in second.items()} == dict.fromkeys(second, "success"), exchange_stack.logs()
    # offers.xml, alone in its exchange, ran the catalog (its characteristics), stocks and prices.
    assert [line.split(" #")[0] for line in second["offers.xml"][1:]] == ["«Каталог товаров»", "«Остатки»", "«Цены»"]
    deactivated = second["mode=deactivate"]
    assert [line.split(" #")[0] for line in deactivated[1:]] == ["«Каталог товаров»", "«Остатки»", "«Цены»"]
    removal = ExchangeImport.objects.filter(path="").latest("pk").sessions.order_by("pk")
    assert [(s.import_type, s.status, s.parameters["remove_absent"]) for s in removal] == [
        ("catalog", "completed", True), ("stocks", "completed", True), ("prices", "completed", True),
    ]
    assert [(s.report_details.get("absent"), s.report_details.get("variants_absent")) for s in removal] == [
        (1, 1), (1, None), (1, None),
    ]
    assert list(Product.objects.filter(is_active=True).values_list("onec_id", flat=True)) == ["g1"]
    assert list(ProductVariant.objects.filter(is_active=True).values_list("onec_id", flat=True)) == ["g1#m"]
    assert list(Price.objects.values_list("offer_onec_id", flat=True)) == ["g1#m"]
    assert list(Stock.objects.values_list("offer_onec_id", flat=True)) == ["g1#m"]
    # The file's own runs removed nothing: g2 was still active until deactivate's runs.
    file_runs = ImportSession.objects.filter(parameters__remove_absent=False, import_type="catalog").order_by("pk")
    assert all(not s.report_details.get("absent") for s in file_runs)
    assert Exchange1C.objects.filter(closed_at__isnull=True).count() == 0


def _goods_with_photos(prefix: str, products: int) -> tuple[set[str], dict[str, bytes]]:
    """An exchange of its own: `products` goods with two photos each, under the same file
    names as every other exchange's (goods/goods.xml), the photos under their own."""
    guids, goods, files = set(), [], {}
    for n in range(products):
        guid = f"{prefix}-0000-0000-0000-{n:012d}"
        pictures = [picture_path(guid, f"photo{k}", "jpg") for k in range(2)]
        guids.add(guid)
        goods.append(cml.Goods(guid, f"{prefix} {n}", pictures=pictures))
        files.update({f"goods/{picture}": make_image_bytes(noise=True) for picture in pictures})
    return guids, {"goods/goods.xml": cml.CommerceMLWriter().goods(goods), **files}


def test_exchanges_of_several_users_at_once_each_import_their_own_files(exchange_stack):
    """Every exchange lays its goods/goods.xml out in the one exchange directory: one must
    not replace another's before its import read it, nor be told `success` for another's run."""
    exchanges = {f"onec-{n}": _goods_with_photos(f"0000000{n}", products=n + 1) for n in range(3)}
    clients = {}
    for name in exchanges:
        grant_exchange(User.objects.create_user(name, password=PASSWORD))
        clients[name] = OneC(http_transport(exchange_stack.django_url), name, PASSWORD, poll_seconds=0.3)
    results, errors = {}, {}

    def exchange(name: str) -> None:
        try:
            results[name] = clients[name].exchange_one_zip(exchanges[name][1])["goods/goods.xml"]
        except Exception as exc:  # reported below with the stack's logs
            errors[name] = repr(exc)

    threads = [threading.Thread(target=exchange, args=(name,)) for name in exchanges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, f"{errors}\n{exchange_stack.logs()}"
    for name, (guids, files) in exchanges.items():
        answer = results[name]
        assert answer[0] == "success", f"{name}: {answer}\n{exchange_stack.logs()}"
        # Its own runs, each counting its own goods and photos.
        record = ExchangeImport.objects.get(exchange__user__username=name, path="goods/goods.xml")
        sessions = list(record.sessions.order_by("pk"))
        assert [(s.import_type, s.started_by_user.username) for s in sessions] == [("catalog", name), ("images", name)]
        assert answer[1].startswith(f"«Каталог товаров» #{sessions[0].pk}: ") and f"Товары: создано — {len(guids)}" in answer[1]
        assert answer[2].startswith(f"«Изображения товаров» #{sessions[1].pk}: ")
        assert f"Файлов скопировано — {2 * len(guids)}" in answer[2], answer
        products = Product.objects.filter(onec_id__in=guids, is_active=True)
        assert products.count() == len(guids)
        assert all(p.main_image and len(p.gallery_images) == 1 for p in products), name
        assert clients[name].slowest_import_answer <= POLL_LIMIT_SECONDS
    assert len(media_files(exchange_stack.media_root)) == sum(2 * len(guids) for guids, _ in exchanges.values())
