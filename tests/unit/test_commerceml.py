"""The CommerceML goods parser (pure: no database)."""
import pytest

from commerceml.layout import exchange_files
from commerceml.reader import GOODS, ExchangeDocument, GoodsItem, SkippedElement
from commerceml.reader import CommerceMLError


def iter_goods(path):
    return ExchangeDocument(path).records(GOODS)


def test_goods_keep_picture_order_and_deletion_marks(exchange):
    exchange.add_goods("g1", name="Мяч", article="A-1", pictures=["import_files/g1/b.jpg", "import_files/g1/a.jpg"])
    exchange.add_goods("g2", deleted=True)
    path = exchange.write_goods_xml(bom=True)

    items = list(iter_goods(path))

    assert items == [
        GoodsItem(onec_id="g1", name="Мяч", article="A-1", is_deleted=False,
                  picture_paths=("import_files/g1/b.jpg", "import_files/g1/a.jpg")),
        GoodsItem(onec_id="g2", name="Товар", article="", is_deleted=True, picture_paths=()),
    ]


def test_schema_2_without_namespace_and_status_deleted(tmp_path):
    path = tmp_path / "import.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация ВерсияСхемы="2.05"><Каталог><Товары>'
        '<Товар Статус="Удален"><Ид>g1#c1</Ид><Наименование>X</Наименование><Картинка>import_files/g1/p.jpg</Картинка></Товар>'
        "</Товары></Каталог></КоммерческаяИнформация>",
        encoding="utf-8",
    )
    [item] = iter_goods(path)
    assert (item.onec_id, item.is_deleted, item.picture_paths) == ("g1#c1", True, ("import_files/g1/p.jpg",))
    assert exchange_files(tmp_path, "goods") == [path]


def test_goods_without_id_is_skipped_with_a_reason(exchange):
    exchange.add_goods("", name="Безымянный")
    exchange.add_goods("g2")
    records = list(iter_goods(exchange.write_goods_xml()))
    assert isinstance(records[0], SkippedElement) and "has no <Ид>" in str(records[0].reason)
    assert records[1].onec_id == "g2"


def test_truncated_xml_names_file_and_line(exchange):
    exchange.add_goods("g1")
    path = exchange.write_goods_xml()
    path.write_bytes(path.read_bytes()[:-60])
    with pytest.raises(CommerceMLError, match=r"goods\.xml: line \d+"):
        list(iter_goods(path))


def test_split_goods_files_are_all_found_in_order(exchange):
    exchange.add_goods("g1")
    second = exchange.write_goods_xml("goods_1_2_bbb.xml")
    first = exchange.write_goods_xml("goods_1_1_aaa.xml")
    assert exchange_files(exchange.root, "goods") == [first, second]


def test_real_sample_goods(sample_dir):
    items = list(iter_goods(sample_dir / "goods" / "goods.xml"))
    assert len(items) == 3
    assert sum(len(item.picture_paths) for item in items) == 13
