"""The CommerceML writer read back by the reader, kind by kind: pure, no database."""
from decimal import Decimal

import pytest

from commerceml import writer as cml
from commerceml.layout import exchange_files, has_image_extension, images_subdir, part_file_name, picture_path
from commerceml.reader import (
    COUNTERPARTIES,
    GOODS,
    GROUPS,
    OFFERS,
    PRICE_TYPES,
    PROPERTIES,
    WAREHOUSES,
    CounterpartyItem,
    ExchangeDocument,
    GoodsItem,
    GroupItem,
    OfferPrice,
    OfferStock,
    PriceTypeItem,
    PropertyItem,
    SkippedElement,
    WarehouseItem,
)

WRITER = cml.CommerceMLWriter(catalog_id="cat")


def read(tmp_path, name: str, data: bytes, spec) -> tuple[list, ExchangeDocument]:
    exchange = ExchangeDocument(cml.write_file(tmp_path, name, data))
    return list(exchange.records(spec)), exchange


def test_groups_with_subgroups_parents_first(tmp_path):
    data = WRITER.groups([
        cml.Group("a", "Спорт", (cml.Group("b", "Мячи", (cml.Group("c", "Футбол"),)),)),
        cml.Group("d", "Старое", deleted=True),
    ], only_changes=False)

    records, exchange = read(tmp_path, "groups/groups.xml", data, GROUPS)

    assert records == [
        GroupItem("a", "Спорт", "", False), GroupItem("b", "Мячи", "a", False), GroupItem("c", "Футбол", "b", False),
        GroupItem("d", "Старое", "", True),
    ]
    assert exchange.is_full_exchange


def test_goods_with_pictures_in_order_group_description_and_properties(tmp_path):
    pictures = [picture_path("0a1b", "2", "JPG"), picture_path("0a1b", "1", "png")]
    data = WRITER.goods([
        cml.Goods("0a1b", "Мяч <футбольный> & «Гол»", article="B-1", group="balls", description="Кожа",
                  pictures=pictures, country="РОССИЯ", properties={"brand": "b1", "material": "кожа"}),
        cml.Goods("", "Без Ид"),
        cml.Goods("g2", deleted=True),
    ], only_changes=True)

    (goods, skipped, deleted), exchange = read(tmp_path, "goods/goods.xml", data, GOODS)

    assert goods == GoodsItem(
        onec_id="0a1b", name="Мяч <футбольный> & «Гол»", article="B-1", is_deleted=False,
        picture_paths=("import_files/0a/0a1b_2.JPG", "import_files/0a/0a1b_1.png"), group_id="balls",
        description="Кожа", property_values=(("brand", "b1"), ("material", "кожа")),
    )
    assert isinstance(skipped, SkippedElement) and "#2 (Без Ид) has no <Ид>" in str(skipped.reason)
    assert (deleted.onec_id, deleted.name, deleted.is_deleted) == ("g2", "Товар", True)
    assert exchange.only_changes is True


def test_property_dictionary(tmp_path):
    data = WRITER.properties([
        cml.Property("p-brand", "Бренд", value_type="Справочник", values={"b1": "Espado", "b2": "Кедр"}),
        cml.Property("p-color", "Цвет", value_type="Строка"),
    ])

    records, exchange = read(tmp_path, "propertiesGoods/properties.xml", data, PROPERTIES)

    assert records == [
        PropertyItem("p-brand", "Бренд", (("b1", "Espado"), ("b2", "Кедр"))), PropertyItem("p-color", "Цвет", ()),
    ]
    assert exchange.only_changes is None  # not said


def test_offers_prices_and_stocks_3_1(tmp_path):
    data = WRITER.offers([
        cml.Offer("g1#c1", "Мяч, 5", article="B-1", characteristics={"Размер": "5", "Пусто": ""},
                  prices=[cml.Price("retail", "1 200,50", "руб", presentation="1 200,50 руб", vat=True),
                          cml.Price("opt", "по запросу")],
                  stocks={"w1": "3", "w2": "1,5"}),
        cml.Offer("g2", deleted=True),
        cml.Offer("g3", prices=[], stocks={}, deleted=None),
    ])

    (first, second, third), _ = read(tmp_path, "offers/offers.xml", data, OFFERS)

    assert (first.onec_id, first.characteristic_id, first.name, first.article) == ("g1#c1", "c1", "Мяч, 5", "B-1")
    assert first.characteristics == (("Размер", "5"),)
    assert first.prices == (OfferPrice("retail", Decimal("1200.50"), "руб"),)
    assert tuple(map(str, first.problems)) == ("offer g1#c1: price 'по запросу' of price type opt is not a number; skipped",)
    assert first.stocks == (OfferStock("w1", Decimal(3)), OfferStock("w2", Decimal("1.5")))
    assert (second.is_deleted, second.prices, second.stocks) == (True, None, None)
    assert (third.is_deleted, third.prices, third.stocks) == (False, (), ())


def test_price_types_and_warehouses(tmp_path):
    types, _ = read(tmp_path, "priceLists/p.xml", WRITER.price_types([
        cml.PriceType("retail", "Розница", vat=True, version="AAAAAAAAAAE="),
        cml.PriceType("opt", "Опт", "USD", deleted=True),
    ]), PRICE_TYPES)
    warehouses, _ = read(tmp_path, "storages/s.xml", WRITER.warehouses([cml.Warehouse("w1", "Основной")]), WAREHOUSES)

    assert types == [PriceTypeItem("retail", "Розница", "RUB", False), PriceTypeItem("opt", "Опт", "USD", True)]
    assert warehouses == [WarehouseItem("w1", "Основной", False)]


def test_counterparties_flat_nested_and_with_a_representative(tmp_path):
    data = WRITER.counterparties([
        cml.Counterparty("k1", "Ромашка", full_name='ООО "Ромашка"', inn="7700000001", kpp="770001001",
                         representative="k-rep"),
        cml.Counterparty("k2", "Лютик", inn="7700000002", role="Продавец", nested_details=True, deleted=True),
    ], only_changes=False)

    records, _ = read(tmp_path, "contragents/contragents.xml", data, COUNTERPARTIES)

    assert records == [
        CounterpartyItem("k1", "Ромашка", 'ООО "Ромашка"', "7700000001", "770001001", "Покупатель", False),
        CounterpartyItem("k2", "Лютик", "", "7700000002", "", "Продавец", True),
    ]


def test_2x_import_and_offers_side_by_side(tmp_path):
    writer = cml.CommerceMLWriter(schema_version="2.07")
    cml.write_file(tmp_path, "import.xml", writer.import_2x(
        groups=[cml.Group("grp", "Мячи")], goods=[cml.Goods("g1", "Мяч", group="grp")], only_changes=False,
    ))
    cml.write_file(tmp_path, "offers.xml", writer.offers_2x(
        price_types=[cml.PriceType("pt", "Розница")], warehouses=[cml.Warehouse("w1", "Основной")],
        offers=[cml.Offer("g1", prices=[cml.Price("pt", "500", "RUB")], stocks_2x={"w1": "4", "w2": "1"}, total="5"),
                cml.Offer("g1#c2", total="7")],
        only_changes=False,
    ))

    (import_xml,) = exchange_files(tmp_path, "goods")
    assert [g.group_id for g in ExchangeDocument(import_xml).records(GOODS)] == ["grp"]
    assert [g.name for g in ExchangeDocument(tmp_path / "import.xml").records(GROUPS)] == ["Мячи"]
    offers_file = ExchangeDocument(tmp_path / "offers.xml")
    first, second = offers_file.records(OFFERS)
    assert offers_file.is_full_exchange
    assert first.prices == (OfferPrice("pt", Decimal(500), "RUB"),)
    assert first.stocks == (OfferStock("w1", Decimal(4)), OfferStock("w2", Decimal(1)))  # per warehouse, not the total
    assert second.stocks == (OfferStock("", Decimal(7)),)
    assert [t.onec_id for t in ExchangeDocument(tmp_path / "offers.xml").records(PRICE_TYPES)] == ["pt"]
    assert [w.onec_id for w in ExchangeDocument(tmp_path / "offers.xml").records(WAREHOUSES)] == ["w1"]


def test_2x_changes_package_is_partial(tmp_path):
    writer = cml.CommerceMLWriter(schema_version="2.08")
    data = writer.offers_2x(offers=[cml.Offer("g1", total="1")], changes_package=True)

    records, exchange = read(tmp_path, "offers.xml", data, OFFERS)

    assert [offer.onec_id for offer in records] == ["g1"] and exchange.only_changes is True


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("namespace", [False, True])
def test_bom_namespace_and_indentation_read_the_same(tmp_path, bom, namespace):
    goods = [cml.Goods("g1", "Мяч", pictures=["import_files/g1/a.jpg"]), cml.Goods("g2", "Сетка")]
    plain = cml.CommerceMLWriter(namespace=namespace).goods(goods, bom=bom)
    indented = cml.CommerceMLWriter(namespace=namespace, indent=True, created="2025-09-12T21:25:39",
                                    exchange_id="Обмен с сайтом", catalog_name="Товары 1С").goods(goods, bom=bom)

    assert plain.startswith(cml.UTF8_BOM) is bom
    assert (b'xmlns="urn:1C.ru:commerceml_3"' in plain) is namespace
    assert b"\n\t\t\t<" in indented and b"\n" not in plain  # one line: a parse error is on line 1
    first, _ = read(tmp_path, "a/goods.xml", plain, GOODS)
    second, _ = read(tmp_path, "b/goods.xml", indented, GOODS)
    assert first == second and [g.onec_id for g in first] == ["g1", "g2"]


def test_a_record_as_a_fragment_frames_by_hand(tmp_path):
    path = tmp_path / "import.xml"
    path.write_text(
        f"<КоммерческаяИнформация><Каталог><Товары>{cml.record_xml(cml.Goods('g&1', 'Мяч'))}</Товары></Каталог>"
        "</КоммерческаяИнформация>",
        encoding="utf-8",
    )

    assert [(g.onec_id, g.name) for g in ExchangeDocument(path).records(GOODS)] == [("g&1", "Мяч")]


def test_layout_names():
    assert picture_path("0a1b2c3d", "f00d", "jpeg") == "import_files/0a/0a1b2c3d_f00d.jpeg"
    assert images_subdir("x") == "00"
    assert part_file_name("goods", 2, "5a4d") == "goods/goods_1_2_5a4d.xml"
    names = ("a.JPG", "a.jpeg", "a.Png", "a.gif", "jpg")
    assert [has_image_extension(name) for name in names] == [True, True, True, False, False]
