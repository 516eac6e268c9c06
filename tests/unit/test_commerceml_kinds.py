"""The CommerceML parser on every kind of record: pure, no database, no Prefect."""
import tracemalloc
from decimal import Decimal

import pytest

from commerceml.layout import exchange_files
from commerceml.reader import (
    COUNTERPARTIES,
    GOODS,
    GROUPS,
    OFFERS,
    PRICE_TYPES,
    PROPERTIES,
    WAREHOUSES,
    BrandDictionary,
    ExchangeDocument,
    GoodsItem,
    SkippedElement,
    iter_elements,
    read_brand_dictionary,
    split_offer_id,
)
from commerceml.reader import CommerceMLError
from commerceml import writer as cml
from tests.exchange_builders import Exchange31, write_exchange_2x

GOODS_ID = "038bca5a-747e-11ea-81c1-00155d3cae02"
RETAIL = "3d1482c4-bd77-11e4-afc8-20cf3073dde3"


def records(path, spec):
    return list(ExchangeDocument(path).records(spec))


# --- the real sample ----------------------------------------------------------------------


def test_sample_prices_per_offer_and_price_type(sample_dir):
    (path,) = exchange_files(sample_dir, "prices")
    offers = {offer.onec_id: offer for offer in records(path, OFFERS)}

    retail = {price.price_type_id: price for price in offers[GOODS_ID].prices}[RETAIL]
    assert (retail.value, retail.currency) == (Decimal("6990"), "руб")
    assert len(offers) == 4 and all(offer.stocks is None for offer in offers.values())
    assert offers["0339bffe-ed53-11ec-a302-04421a23d8e8#0a25daeb-ed53-11ec-a302-04421a23d8e8"].characteristic_id == (
        "0a25daeb-ed53-11ec-a302-04421a23d8e8"
    )


def test_sample_price_types_warehouses_rests_and_groups(sample_dir):
    price_types = records(exchange_files(sample_dir, "priceLists")[0], PRICE_TYPES)
    warehouses = records(exchange_files(sample_dir, "storages")[0], WAREHOUSES)
    rests = records(exchange_files(sample_dir, "rests")[0], OFFERS)
    groups = records(exchange_files(sample_dir, "groups")[0], GROUPS)

    assert {(t.onec_id, t.name, t.currency) for t in price_types} >= {(RETAIL, "РРЦ", "RUB")}
    assert len(price_types) == 6
    assert [w.name for w in warehouses] == ["1 СДВ склад", "2 ТЛВ склад"]
    # rest lines name warehouses as <Склад> too: only the two in <Склады> are warehouses
    assert sum(len(offer.stocks) for offer in rests) == 10 and len(rests) == 5
    assert {s.quantity for offer in rests for s in offer.stocks} == {Decimal(0), Decimal(215)}
    assert len(groups) == 119
    by_id = {g.onec_id: g for g in groups}
    assert by_id["3d148346-bd77-11e4-afc8-20cf3073dde3"].name == "СПОРТ"
    assert by_id["3d148351-bd77-11e4-afc8-20cf3073dde3"].parent_id == "3d148346-bd77-11e4-afc8-20cf3073dde3"
    assert by_id["5a95fe7d-2892-11e6-811d-00155d87f90d"].parent_id == "3d148351-bd77-11e4-afc8-20cf3073dde3"


def test_sample_goods_group_description_and_brand_reference(sample_dir):
    goods = {g.onec_id: g for g in records(exchange_files(sample_dir, "goods")[0], GOODS)}
    dumbbell = goods["018d777d-9094-11ec-a2ff-04421a23d8e8"]

    assert dumbbell.group_id == "9c5bad96-a802-11e7-8151-00155d87f90d"
    assert dumbbell.article == "ES1115"
    assert dumbbell.description.startswith("Гантель ES1115")
    # the sample has no brand dictionary: the reference is kept, the name stays unknown
    assert BrandDictionary().brand_of(dumbbell) == ("", "e473e711-17be-11eb-81ce-00155d3cae02")


def test_every_sample_file_says_it_carries_only_changes(sample_dir):
    for kind, spec in (("goods", GOODS), ("prices", OFFERS), ("storages", WAREHOUSES)):
        exchange = ExchangeDocument(exchange_files(sample_dir, kind)[0])
        list(exchange.records(spec))
        assert exchange.only_changes is True and not exchange.is_full_exchange


# --- small fixtures ---------------------------------------------------------------------------


def test_offers_give_characteristics_prices_and_stocks(tmp_path):
    exchange = Exchange31(tmp_path)
    path = exchange.offers(
        cml.Offer("g1#c1", "Кимоно, синий", characteristics={"Размер": "A2", "Цвет": "синий", "Пусто": ""},
                  prices=[cml.Price("pt", "1 299,50", "RUB")], stocks={"w1": "3", "w2": "0"}),
        cml.Offer("g2", prices=[cml.Price("pt", "abc", "RUB")]),
    )

    first, second = records(path, OFFERS)

    assert split_offer_id(first.onec_id) == ("g1", "c1") and first.characteristic_id == "c1"
    assert first.characteristics == (("Размер", "A2"), ("Цвет", "синий"))
    assert [(p.price_type_id, p.value) for p in first.prices] == [("pt", Decimal("1299.50"))]
    assert [(s.warehouse_id, s.quantity) for s in first.stocks] == [("w1", Decimal(3)), ("w2", Decimal(0))]
    assert second.prices == () and second.stocks is None
    assert "'abc'" in str(second.problems[0]) and "g2" in str(second.problems[0])


def test_bom_and_no_namespace_read_the_same(tmp_path):
    exchange = Exchange31(tmp_path)
    with_bom = exchange.storages(cml.Warehouse("w1", "Склад 1"), bom=True)
    plain = tmp_path / "plain.xml"
    plain.write_text("<КоммерческаяИнформация><Классификатор><Склады>"
                     "<Склад><Ид>w1</Ид><Наименование>Склад 1</Наименование></Склад></Склады></Классификатор>"
                     "</КоммерческаяИнформация>", encoding="utf-8")

    assert with_bom.read_bytes().startswith(b"\xef\xbb\xbf")
    assert records(with_bom, WAREHOUSES) == records(plain, WAREHOUSES)
    assert records(plain, WAREHOUSES)[0].name == "Склад 1"


def test_split_parts_are_read_in_part_order(tmp_path):
    exchange = Exchange31(tmp_path)
    for part in (10, 2, 1):
        exchange.goods(cml.Goods(f"g{part}"), filename=f"goods_1_{part}_5a4d1c2e-0000-4000-8000-00000000000{part % 10}.xml")

    files = exchange_files(tmp_path, "goods")

    assert [records(path, GOODS)[0].onec_id for path in files] == ["g1", "g2", "g10"]


@pytest.mark.parametrize(("only_changes", "full"), [(True, False), (False, True), (None, False)])
def test_full_exchange_only_when_1c_says_so(tmp_path, only_changes, full):
    path = Exchange31(tmp_path).goods(cml.Goods("g1"), only_changes=only_changes)
    exchange = ExchangeDocument(path)
    list(exchange.records(GOODS))
    assert exchange.is_full_exchange is full


def test_2x_layout_import_and_offers_in_one_folder(tmp_path):
    write_exchange_2x(
        tmp_path,
        groups=[cml.Group("grp", "Мячи")],
        goods=[cml.Goods("g1", "Мяч", group="grp")],
        price_types=[cml.PriceType("pt", "Розница")],
        warehouses=[cml.Warehouse("w1", "Основной")],
        offers=[cml.Offer("g1", prices=[cml.Price("pt", "500", "RUB")], stocks_2x={"w1": "4"}, total="4"),
                cml.Offer("g1#c2", total="7")],
    )

    assert [p.name for p in exchange_files(tmp_path, "goods")] == ["import.xml"]
    assert [p.name for p in exchange_files(tmp_path, "prices")] == ["offers.xml"]
    assert exchange_files(tmp_path, "contragents") == []
    (goods,) = records(exchange_files(tmp_path, "goods")[0], GOODS)
    assert goods.group_id == "grp"
    offers = records(tmp_path / "offers.xml", OFFERS)
    assert [(s.warehouse_id, s.quantity) for s in offers[0].stocks] == [("w1", Decimal(4))]
    assert [(s.warehouse_id, s.quantity) for s in offers[1].stocks] == [("", Decimal(7))]
    assert [t.name for t in records(tmp_path / "offers.xml", PRICE_TYPES)] == ["Розница"]
    assert [w.name for w in records(tmp_path / "offers.xml", WAREHOUSES)] == ["Основной"]


@pytest.mark.parametrize(("flag", "full"), [("false", True), ("true", False)])
def test_2x_flag_written_as_a_child_element(tmp_path, flag, full):
    path = tmp_path / "import.xml"
    path.write_text(
        f"<КоммерческаяИнформация><Каталог><СодержитТолькоИзменения>{flag}</СодержитТолькоИзменения>"
        f"<Товары>{cml.record_xml(cml.Goods('g1'))}</Товары></Каталог></КоммерческаяИнформация>",
        encoding="utf-8",
    )
    exchange = ExchangeDocument(path)
    assert [g.onec_id for g in exchange.records(GOODS)] == ["g1"]
    assert exchange.is_full_exchange is full


def test_2x_changes_package_is_partial(tmp_path):
    write_exchange_2x(tmp_path, offers=[cml.Offer("g1", total="1")], changes_package=True)
    exchange = ExchangeDocument(tmp_path / "offers.xml")
    assert len(list(exchange.records(OFFERS))) == 1
    assert exchange.only_changes is True


def test_counterparties_read_their_own_details_not_a_representatives(tmp_path):
    path = Exchange31(tmp_path).contragents(
        cml.Counterparty("k1", "Ромашка", full_name='ООО "Ромашка"', inn="7700000001", kpp="770001001",
                         representative="k-rep"),
        cml.Counterparty("k2", "Лютик", full_name='ООО "Лютик"', inn="7700000002", nested_details=True,
                         role="Продавец", deleted=True),
    )

    first, second = records(path, COUNTERPARTIES)

    assert (first.onec_id, first.full_name, first.inn, first.kpp, first.role) == (
        "k1", 'ООО "Ромашка"', "7700000001", "770001001", "Покупатель",
    )
    assert (second.inn, second.full_name, second.role, second.is_deleted) == ("7700000002", 'ООО "Лютик"', "Продавец", True)


def test_brand_from_a_property_dictionary(tmp_path):
    exchange = Exchange31(tmp_path)
    exchange.properties(cml.Property("p-brand", "Бренд", values={"b1": "Espado"}), cml.Property("p-color", "Цвет"))
    brands = read_brand_dictionary(exchange_files(tmp_path, "propertiesGoods"))

    def brand(properties):
        return brands.brand_of(GoodsItem(onec_id="g", name="", article="", is_deleted=False, picture_paths=(),
                                         property_values=tuple(properties.items())))

    assert brand({"p-color": "red", "p-brand": "b1"}) == ("Espado", "b1")
    assert brand({"Бренд": "BoyBo"}) == ("BoyBo", "")
    assert brand({"p-color": "red"}) == ("", "")
    assert BrandDictionary.from_dict(brands.as_dict()) == brands
    assert [p.name for p in records(exchange_files(tmp_path, "propertiesGoods")[0], PROPERTIES)] == ["Бренд", "Цвет"]


def test_element_without_id_is_skipped_with_file_and_position(tmp_path):
    path = Exchange31(tmp_path).goods(cml.Goods("g1"), cml.Goods("", "Без Ид"))

    first, second = records(path, GOODS)

    assert first.onec_id == "g1"
    assert isinstance(second, SkippedElement)
    assert second.path == str(path) and "#2 (Без Ид)" in str(second.reason)


def test_malformed_xml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<КоммерческаяИнформация>\n<Склады><Склад></Склады>", encoding="utf-8")
    with pytest.raises(CommerceMLError, match=r"broken.xml: line 2.*re-export"):
        records(path, WAREHOUSES)


def test_memory_stays_flat_while_scanning_past_other_records(tmp_path):
    """20,000 offers (~5 MB) before the price types: reading the price types must not
    keep the offers in memory."""
    path = tmp_path / "offers.xml"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_3"><ПакетПредложений><Предложения>')
        for index in range(20_000):
            fh.write(cml.record_xml(
                cml.Offer(f"goods-{index:08d}#char", "Предложение с длинным названием",
                          prices=[cml.Price("pt", "100", "RUB")])
            ))
        price_type = cml.record_xml(cml.PriceType("pt", "Розница"))
        fh.write(f"</Предложения><ТипыЦен>{price_type}</ТипыЦен></ПакетПредложений></КоммерческаяИнформация>")
    size = path.stat().st_size

    tracemalloc.start()
    try:
        found = [elem for elem in iter_elements(path, "ТипЦены", parent="ТипыЦен")]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(found) == 1 and size > 4_000_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"
