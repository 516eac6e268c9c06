"""Catalog, prices, stocks and customers imports as Prefect flows, through import_1c."""
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.customers.models import Counterparty
from apps.imports.models import ImportSession
from apps.products.models import Category, Price, PriceType, Product, ProductVariant, Stock, Warehouse
from flows.customers import import_customers
from commerceml import writer as cml
from tests.exchange_builders import Exchange31, write_exchange_2x
from tests.flows.helpers import run_import_command

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]

SAMPLE_GOODS = {"018d777d-9094-11ec-a2ff-04421a23d8e8", "038bca59-747e-11ea-81c1-00155d3cae02", "069efcc9-a098-11ed-a325-04421a23d8e8"}


def test_sample_catalog_prices_and_stocks(sample_dir, capsys):
    catalog = run_import_command(capsys, "catalog", "--data-dir", str(sample_dir))
    prices = run_import_command(capsys, "prices", "--data-dir", str(sample_dir))
    stocks = run_import_command(capsys, "stocks", "--data-dir", str(sample_dir))

    assert catalog["status"] == "completed"
    assert (catalog["created"], catalog["groups_created"], catalog["errors"]) == (3, 119, 0)
    # offers.xml names goods the sample's goods.xml does not have: counted, not invented
    assert (catalog["unknown_offers"], catalog["variants_created"]) == (3, 0)
    assert set(Product.objects.values_list("onec_id", flat=True)) == SAMPLE_GOODS
    assert Product.objects.get(onec_id="038bca59-747e-11ea-81c1-00155d3cae02").category.onec_id == (
        "6226a394-0d9e-11e8-8166-00155d87f90d"
    )
    assert Category.objects.filter(parent__isnull=True).exists() and Category.objects.count() == 119

    assert prices["status"] == "completed"
    assert (prices["price_types_created"], prices["offers"], prices["created"], prices["unknown_offers"]) == (6, 1, 5, 3)
    assert "038bca5a-747e-11ea-81c1-00155d3cae02" in prices["unknown_offer_ids"]
    assert PriceType.objects.get(onec_id="3d1482c4-bd77-11e4-afc8-20cf3073dde3").name == "РРЦ"
    assert Price.objects.filter(product__onec_id="069efcc9-a098-11ed-a325-04421a23d8e8").count() == 5

    assert stocks["status"] == "completed"
    assert (stocks["warehouses_created"], stocks["offers"], stocks["stocks"], stocks["unknown_offers"]) == (2, 3, 6, 2)
    assert set(Warehouse.objects.values_list("name", flat=True)) == {"1 СДВ склад", "2 ТЛВ склад"}
    assert Stock.objects.filter(offer_onec_id__startswith="018d777d-9094-11ec-a2ff-04421a23d8e8#").count() == 4

    again = run_import_command(capsys, "prices", "--data-dir", str(sample_dir))
    assert (again["created"], again["updated"], Price.objects.count()) == (0, 5, 5)

    # the sample has no contragents/: the customers import completes, saying 1C sent none
    customers = run_import_command(capsys, "customers", "--data-dir", str(sample_dir))
    assert (customers["status"], customers["total_files"], customers["created"]) == ("completed", 0, 0)
    assert "has no contragents files" in ImportSession.objects.get(pk=customers["session_id"]).error_message


def test_prices_and_stocks_refuse_without_a_catalog(sample_dir, capsys):
    for import_type in ("prices", "stocks"):
        report = run_import_command(capsys, import_type, "--data-dir", str(sample_dir))
        session = ImportSession.objects.get(pk=report["session_id"])
        assert session.status == "failed"
        assert f"run the catalog import first (python backend/manage.py import_1c catalog), then import {import_type}" in (
            session.error_message
        )
    assert not Price.objects.exists() and not Stock.objects.exists()


def test_31_fixture_exchange_all_types_full_exchange_and_bom(tmp_path, capsys):
    ex = Exchange31(tmp_path / "exchange")
    ex.groups(cml.Group("root", "Спорт", (cml.Group("balls", "Мячи"),)), bom=True)
    ex.goods(cml.Goods("g1", "Мяч", group="balls"), cml.Goods("g2", "Сетка", group="root"), only_changes=False,
             filename="goods_1_1_0b5a6c1e-1111-4111-8111-111111111111.xml", bom=True)
    ex.goods(cml.Goods("g3", "Насос", group="root", deleted=True), only_changes=False,
             filename="goods_1_2_0b5a6c1e-2222-4222-8222-222222222222.xml")
    ex.offers(cml.Offer("g1#s", "Мяч, S", characteristics={"Размер": "S"}), cml.Offer("ghost#1", "?"), bom=True)
    ex.price_lists(cml.PriceType("retail", "Розница"))
    ex.prices(cml.Offer("g1#s", prices=[cml.Price("retail", "990", "руб")]),
              cml.Offer("g2", prices=[cml.Price("retail", "1500", "руб")]))
    ex.storages(cml.Warehouse("w1", "Склад"))
    ex.rests(cml.Offer("g1#s", stocks={"w1": "5"}), cml.Offer("ghost#1", stocks={"w1": "1"}))
    ex.contragents(cml.Counterparty("k1", "Ромашка", inn="7700000001", kpp="770001001"), only_changes=False)
    Product.objects.create(onec_id="old", name="Снят с продажи")
    Counterparty.objects.create(onec_id="gone", name="Бывший клиент")

    reports = {t: run_import_command(capsys, t, "--data-dir", str(ex.root)) for t in ("catalog", "prices", "stocks", "customers")}

    assert all(report["status"] == "completed" for report in reports.values())
    catalog = reports["catalog"]
    assert (catalog["total_files"], catalog["created"], catalog["deactivated"], catalog["absent"]) == (4, 3, 1, 1)
    assert (catalog["variants_created"], catalog["unknown_offers"], catalog["unknown_offer_ids"]) == (1, 1, ["ghost#1"])
    assert sorted(Product.objects.filter(is_active=True).values_list("onec_id", flat=True)) == ["g1", "g2"]
    assert ProductVariant.objects.get(onec_id="g1#s").product.category.parent.name == "Спорт"
    assert sorted(Price.objects.values_list("offer_onec_id", "value")) == [("g1#s", Decimal(990)), ("g2", Decimal(1500))]
    assert (reports["stocks"]["stocks"], reports["stocks"]["unknown_offers"]) == (1, 1)
    assert Stock.objects.get().quantity == Decimal(5)
    assert (reports["customers"]["created"], reports["customers"]["absent"]) == (1, 1)
    assert list(Counterparty.objects.order_by("onec_id").values_list("onec_id", "inn", "is_active")) == [
        ("gone", "", False), ("k1", "7700000001", True),
    ]


def test_2x_exchange_through_the_flows(tmp_path, capsys):
    write_exchange_2x(
        tmp_path,
        groups=[cml.Group("grp", "Мячи")],
        goods=[cml.Goods("g1", "Мяч", group="grp")],
        price_types=[cml.PriceType("pt", "Розница")],
        warehouses=[cml.Warehouse("w1", "Основной")],
        offers=[cml.Offer("g1", prices=[cml.Price("pt", "500", "RUB")], stocks_2x={"w1": "4"})],
        only_changes=True,
    )

    reports = [run_import_command(capsys, t, "--data-dir", str(tmp_path)) for t in ("catalog", "prices", "stocks")]

    assert [r["status"] for r in reports] == ["completed"] * 3
    assert (reports[0]["created"], reports[1]["created"], reports[2]["stocks"]) == (1, 1, 1)
    assert Price.objects.get().value == Decimal(500)
    assert Stock.objects.get().warehouse.name == "Основной"


def test_scheduled_customers_run_creates_its_own_session(tmp_path, settings):
    Exchange31(tmp_path).contragents(cml.Counterparty("k1", "Ромашка"))
    settings.ONEC_DATA_DIR = tmp_path

    report = import_customers()

    session = ImportSession.objects.get()
    assert (session.import_type, session.started_by, session.status) == ("customers", "schedule", "completed")
    assert report["created"] == 1 and session.flow_run_id is not None


def test_missing_folder_fails_the_session_with_the_path_to_fix(tmp_path, capsys):
    report = run_import_command(capsys, "customers", "--data-dir", str(tmp_path))

    session = ImportSession.objects.get(pk=report["session_id"])
    assert session.status == "failed"
    assert f"no contragents files in {tmp_path}" in session.error_message
    assert "check ONEC_DATA_DIR / --data-dir" in session.error_message


def test_the_report_links_the_run_in_prefects_ui(tmp_path, capsys):
    """With a Prefect server (PREFECT_API_URL), the command says where the run is in the UI, in
    the site's language: Prefect's own "View at …" line is left out of the terminal."""
    Exchange31(tmp_path / "exchange").goods(cml.Goods("g1", "Мяч"))

    call_command("import_1c", "catalog", "--data-dir", str(tmp_path / "exchange"))

    session = ImportSession.objects.get()
    out = capsys.readouterr().out
    assert "  запуск в интерфейсе Prefect: http" in out and out.rstrip().count(f"/runs/flow-run/{session.flow_run_id}") == 1
