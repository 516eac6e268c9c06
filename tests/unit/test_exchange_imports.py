"""The import services of catalog, prices, stocks and customers, straight on the
database (no Prefect): rows, values, idempotence, partial and full exchanges."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils import translation

from apps.customers.models import Counterparty
from apps.i18n.messages import message_of, message_text
from commerceml.reader import BrandDictionary, PropertyItem
from apps.imports.services.record_import import exchange_import_file, exchange_remove_absent
from apps.imports.services.exchange_plan import exchange_plan_files
from apps.products.models import Category, Price, PriceType, Product, ProductVariant, Stock, Warehouse
from apps.imports.exceptions import ExchangeDirectoryError
from commerceml import writer as cml
from tests.exchange_builders import Exchange31, write_exchange_2x

pytestmark = pytest.mark.django_db

RUN_1 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RUN_2 = RUN_1 + timedelta(hours=1)


def run(kind, path, mark=RUN_1, **context):
    return exchange_import_file(kind=kind, path=path, sync_mark=mark, context=context)


@pytest.fixture
def ex(tmp_path):
    return Exchange31(tmp_path / "exchange")


@pytest.fixture
def catalog(ex):
    """Two goods in a two-level group tree; g1 has two size variants."""
    run("groups", ex.groups(cml.Group("root", "Спорт", (cml.Group("sub", "Мячи"),))))
    run("goods", ex.goods(cml.Goods("g1", "Мяч", article="B-1", group="sub"), cml.Goods("g2", "Сетка", group="root")))
    run("offers", ex.offers(cml.Offer("g1#s", "Мяч, S", characteristics={"Размер": "S"}),
                            cml.Offer("g1#m", "Мяч, M", characteristics={"Размер": "M"})))
    return ex


# --- catalog ------------------------------------------------------------------------------------


def test_catalog_groups_goods_and_variants(catalog):
    ball = Product.objects.get(onec_id="g1")

    assert Category.objects.get(onec_id="sub").parent.onec_id == "root"
    assert Category.objects.get(onec_id="root").parent is None
    assert (ball.name, ball.article, ball.category.name, ball.is_active) == ("Мяч", "B-1", "Мячи", True)
    assert list(ball.variants.order_by("onec_id").values_list("onec_id", "name", "characteristics")) == [
        ("g1#m", "Мяч, M", [{"name": "Размер", "value": "M"}]),
        ("g1#s", "Мяч, S", [{"name": "Размер", "value": "S"}]),
    ]


def test_catalog_goods_description_brand_and_pictures_in_order(ex):
    brands = BrandDictionary.from_properties(
        [PropertyItem(onec_id="p-brand", name="Бренд", values=(("b1", "Espado"),))]
    ).as_dict()
    path = ex.goods(cml.Goods("g1", "Гантель", description="Неопрен", pictures=["import_files/g1/b.jpg", "import_files/g1/a.jpg"],
                              properties={"p-brand": "b1"}))

    run("goods", path, brands=brands)

    product = Product.objects.get(onec_id="g1")
    assert (product.description, product.brand, product.brand_onec_id) == ("Неопрен", "Espado", "b1")
    assert product.onec_picture_paths == ["import_files/g1/b.jpg", "import_files/g1/a.jpg"]


def test_catalog_reimport_changes_nothing(catalog):
    before = list(Product.objects.order_by("onec_id").values("onec_id", "name", "category_id", "is_active"))
    variants_before = list(ProductVariant.objects.order_by("onec_id").values_list("onec_id", "product_id", "characteristics"))

    goods = run("goods", catalog.root / "goods" / "goods.xml", RUN_2)
    offers = run("offers", catalog.root / "offers" / "offers.xml", RUN_2)

    assert goods["counters"] == {"created": 0, "updated": 2, "deactivated": 0, "pictures_listed": 0}
    assert offers["counters"] == {"variants_created": 0, "variants_updated": 2, "variants_deactivated": 0}
    assert list(Product.objects.order_by("onec_id").values("onec_id", "name", "category_id", "is_active")) == before
    assert list(ProductVariant.objects.order_by("onec_id").values_list("onec_id", "product_id", "characteristics")) == variants_before


def test_catalog_deletion_marks_deactivate(catalog):
    run("goods", catalog.goods(cml.Goods("g2", "Сетка", deleted=True)), RUN_2)
    run("offers", catalog.offers(cml.Offer("g1#s", deleted=True)), RUN_2)

    assert not Product.objects.get(onec_id="g2").is_active
    assert not ProductVariant.objects.get(onec_id="g1#s").is_active
    assert Product.objects.get(onec_id="g1").is_active and ProductVariant.objects.get(onec_id="g1#m").is_active


def test_partial_exchange_changes_only_what_it_contains(catalog):
    result = run("goods", catalog.goods(cml.Goods("g2", "Сетка большая", group="root"), only_changes=True), RUN_2)

    assert result["full_exchange"] is False
    assert Product.objects.get(onec_id="g2").name == "Сетка большая"
    assert Product.objects.get(onec_id="g1").is_active


def test_full_exchange_deactivates_what_1c_no_longer_has(catalog):
    result = run("goods", catalog.goods(cml.Goods("g2", "Сетка", group="root"), only_changes=False), RUN_2)
    assert result["full_exchange"] is True

    assert exchange_remove_absent(kind="goods", sync_mark=RUN_2) == {"absent": 1}

    assert not Product.objects.get(onec_id="g1").is_active
    assert Product.objects.get(onec_id="g2").is_active


def test_offer_of_unknown_goods_is_counted_not_guessed(catalog):
    result = run("offers", catalog.offers(cml.Offer("nobody#x", "?"), cml.Offer("g1#l", "Мяч, L")))

    assert result["counters"]["unknown_offers"] == 1
    assert result["unknown_offer_ids"] == ["nobody#x"]
    assert not ProductVariant.objects.filter(onec_id__startswith="nobody").exists()
    assert not Product.objects.filter(onec_id="nobody").exists()
    assert ProductVariant.objects.get(onec_id="g1#l").product.onec_id == "g1"


def test_group_tree_split_across_batches_keeps_its_parents(ex, monkeypatch):
    monkeypatch.setattr("apps.imports.services.record_import.BATCH_SIZE", 2)
    run("groups", ex.groups(cml.Group("a", "A", (cml.Group("b", "B", (cml.Group("c", "C"), cml.Group("d", "D"))),))))

    assert [(c.onec_id, c.parent.onec_id if c.parent else None) for c in Category.objects.order_by("onec_id")] == [
        ("a", None), ("b", "a"), ("c", "b"), ("d", "b"),
    ]


# --- prices --------------------------------------------------------------------------------------


@pytest.fixture
def price_types(catalog):
    run("priceLists", catalog.price_lists(cml.PriceType("retail", "Розница", "RUB"), cml.PriceType("opt", "Опт", "USD")))
    return catalog


def test_prices_per_offer_or_goods_and_price_type(price_types):
    result = run("prices", price_types.prices(
        cml.Offer("g1#s", prices=[cml.Price("retail", "1 200,50", "руб"), cml.Price("opt", "15", "")]),
        cml.Offer("g2", prices=[cml.Price("retail", "300", "руб")]),
    ))

    assert result["counters"] == {"offers": 2, "created": 3, "updated": 0}
    variant_price = Price.objects.get(offer_onec_id="g1#s", price_type__onec_id="retail")
    assert (variant_price.value, variant_price.currency, variant_price.variant.onec_id, variant_price.product.onec_id) == (
        Decimal("1200.50"), "руб", "g1#s", "g1",
    )
    # no currency on the price: the price type's
    assert Price.objects.get(offer_onec_id="g1#s", price_type__onec_id="opt").currency == "USD"
    goods_price = Price.objects.get(offer_onec_id="g2")
    assert (goods_price.value, goods_price.variant, goods_price.product.onec_id) == (Decimal("300"), None, "g2")
    assert PriceType.objects.get(onec_id="opt").currency == "USD"


def test_prices_reimport_updates_in_place(price_types):
    run("prices", price_types.prices(cml.Offer("g2", prices=[cml.Price("retail", "300", "руб")])))

    again = run("prices", price_types.prices(cml.Offer("g2", prices=[cml.Price("retail", "350", "руб")])), RUN_2)

    assert again["counters"] == {"offers": 1, "created": 0, "updated": 1}
    assert list(Price.objects.values_list("offer_onec_id", "value")) == [("g2", Decimal("350"))]


def test_prices_of_unknown_goods_and_price_types_are_reported(price_types):
    result = run("prices", price_types.prices(
        cml.Offer("ghost#1", prices=[cml.Price("retail", "1", "руб")]),
        cml.Offer("g2", prices=[cml.Price("nope", "5", "руб"), cml.Price("retail", "7", "руб")]),
    ))

    assert result["counters"]["unknown_offers"] == 1 and result["unknown_offer_ids"] == ["ghost#1"]
    assert result["counters"]["unknown_price_types"] == 1
    assert "price type nope is not known" in result["error_details"][0]["reason"]
    assert list(Price.objects.values_list("offer_onec_id", "value")) == [("g2", Decimal("7"))]


def test_price_that_arrives_before_its_variant_is_linked_later(price_types):
    run("prices", price_types.prices(cml.Offer("g2#big", prices=[cml.Price("retail", "9", "руб")])))
    assert Price.objects.get(offer_onec_id="g2#big").variant is None

    run("offers", price_types.offers(cml.Offer("g2#big", "Сетка, большая")))

    assert Price.objects.get(offer_onec_id="g2#big").variant.onec_id == "g2#big"


def test_full_price_exchange_removes_prices_1c_no_longer_sends(price_types):
    run("prices", price_types.prices(cml.Offer("g1#s", prices=[cml.Price("retail", "1", "")]),
                                     cml.Offer("g2", prices=[cml.Price("retail", "2", "")])))
    run("prices", price_types.prices(cml.Offer("g2", prices=[cml.Price("retail", "2", "")]), only_changes=False), RUN_2)

    assert exchange_remove_absent(kind="prices", sync_mark=RUN_2) == {"absent": 1}
    assert list(Price.objects.values_list("offer_onec_id", flat=True)) == ["g2"]


# --- stocks --------------------------------------------------------------------------------------


@pytest.fixture
def warehouses(catalog):
    run("storages", catalog.storages(cml.Warehouse("w1", "Москва"), cml.Warehouse("w2", "Тула")))
    return catalog


def stock_rows():
    return sorted(Stock.objects.values_list("offer_onec_id", "warehouse__onec_id", "quantity"))


def test_stocks_per_offer_per_warehouse_replace_the_offers_old_lines(warehouses):
    run("rests", warehouses.rests(cml.Offer("g1#s", stocks={"w1": "3", "w2": "0"}), cml.Offer("g2", stocks={"w1": "1,5"})))
    assert stock_rows() == [("g1#s", "w1", Decimal(3)), ("g1#s", "w2", Decimal(0)), ("g2", "w1", Decimal("1.5"))]
    assert Warehouse.objects.get(onec_id="w2").name == "Тула"

    again = run("rests", warehouses.rests(cml.Offer("g1#s", stocks={"w2": "4"})), RUN_2)

    assert again["counters"] == {"offers": 1, "stocks": 1}
    assert stock_rows() == [("g1#s", "w2", Decimal(4)), ("g2", "w1", Decimal("1.5"))]
    assert Stock.objects.get(offer_onec_id="g1#s").variant.onec_id == "g1#s"


def test_stocks_reimport_is_idempotent(warehouses):
    path = warehouses.rests(cml.Offer("g1#s", stocks={"w1": "3"}), cml.Offer("g2", stocks={"w2": "2"}))
    run("rests", path)
    before = stock_rows()

    run("rests", path, RUN_2)

    assert stock_rows() == before and Stock.objects.count() == 2


def test_stocks_of_unknown_goods_and_warehouses_are_reported(warehouses):
    result = run("rests", warehouses.rests(cml.Offer("ghost", stocks={"w1": "1"}),
                                           cml.Offer("g2", stocks={"w9": "5", "w1": "2"})))

    assert result["unknown_offer_ids"] == ["ghost"]
    assert result["counters"]["unknown_warehouses"] == 1
    assert "warehouse w9 is not known" in result["error_details"][0]["reason"]
    assert stock_rows() == [("g2", "w1", Decimal(2))]


def test_full_stock_exchange_removes_lines_1c_no_longer_sends(warehouses):
    run("rests", warehouses.rests(cml.Offer("g1#s", stocks={"w1": "3"}), cml.Offer("g2", stocks={"w1": "1"})))
    result = run("rests", warehouses.rests(cml.Offer("g2", stocks={"w1": "2"}), only_changes=False), RUN_2)

    assert result["full_exchange"] is True
    assert exchange_remove_absent(kind="rests", sync_mark=RUN_2) == {"absent": 1}
    assert stock_rows() == [("g2", "w1", Decimal(2))]


# --- customers ----------------------------------------------------------------------------------


def test_customers_fields_deletion_mark_and_idempotence(ex):
    path = ex.contragents(
        cml.Counterparty("k1", "Ромашка", full_name='ООО "Ромашка"', inn="7700000001", kpp="770001001"),
        cml.Counterparty("k2", "Лютик", inn="ИНН-неверный", role="Продавец", deleted=True, nested_details=True),
    )

    first = run("contragents", path)
    again = run("contragents", path, RUN_2)

    assert first["counters"] == {"created": 2, "updated": 0, "deactivated": 1}
    assert again["counters"] == {"created": 0, "updated": 2, "deactivated": 1}
    assert "INN 'ИНН-неверный'" in first["error_details"][0]["reason"]
    assert list(Counterparty.objects.order_by("onec_id").values_list("onec_id", "name", "full_name", "inn", "kpp", "role", "is_active")) == [
        ("k1", "Ромашка", 'ООО "Ромашка"', "7700000001", "770001001", "Покупатель", True),
        ("k2", "Лютик", "", "", "", "Продавец", False),
    ]


# --- where the files are ----------------------------------------------------------------------


def test_plan_refuses_a_directory_without_any_exchange_file(tmp_path):
    with pytest.raises(ExchangeDirectoryError, match=r"no rests files in .*rests/\*\.xml \(CommerceML 3\).*offers\*\.xml") as refused:
        exchange_plan_files(import_type="stocks", data_dir=tmp_path)
    with translation.override("ru"):  # the files it expects are said in the site's language too
        assert f"ожидаются {tmp_path}/rests/*.xml (CommerceML 3) или {tmp_path}/offers" in message_text(message_of(refused.value))


def test_plan_notes_an_exchange_that_did_not_send_the_kind(ex):
    ex.goods(cml.Goods("g1"))

    files, note = exchange_plan_files(import_type="customers", data_dir=ex.root)

    assert files == {"contragents": []}
    assert f"the exchange in {ex.root} has no contragents files" in str(note) and "nothing was imported" in str(note)


def test_2x_exchange_feeds_catalog_prices_and_stocks(tmp_path):
    write_exchange_2x(
        tmp_path,
        groups=[cml.Group("grp", "Мячи")],
        goods=[cml.Goods("g1", "Мяч", group="grp")],
        price_types=[cml.PriceType("pt", "Розница")],
        warehouses=[cml.Warehouse("w1", "Основной")],
        offers=[cml.Offer("g1", prices=[cml.Price("pt", "500", "RUB")], stocks_2x={"w1": "4"}),
                cml.Offer("g1#red", "Мяч, красный", characteristics={"Цвет": "красный"}, prices=[cml.Price("pt", "550", "")], total="2")],
    )
    for import_type in ("catalog", "prices", "stocks"):
        for kind, paths in exchange_plan_files(import_type=import_type, data_dir=tmp_path)[0].items():
            for path in paths:
                run(kind, path)

    assert Product.objects.get(onec_id="g1").category.name == "Мячи"
    assert ProductVariant.objects.get(onec_id="g1#red").characteristics == [{"name": "Цвет", "value": "красный"}]
    assert sorted(Price.objects.values_list("offer_onec_id", "value", "currency")) == [
        ("g1", Decimal(500), "RUB"), ("g1#red", Decimal(550), "RUB"),
    ]
    assert stock_rows() == [("g1", "w1", Decimal(4)), ("g1#red", None, Decimal(2))]
