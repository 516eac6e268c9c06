"""CommerceML (1C exchange XML) writing: the one writer the demo exchange, the tests and
the benchmarks use. Pure, no Django.

Records are small frozen dataclasses (`Goods`, `Offer`, ...); `CommerceMLWriter` turns them
into the bytes of one exchange file of a kind, with the containers and headers 1C puts
on it: schema 3.1 (one kind per file: goods/, offers/, prices/, ...) or 2.x (import.xml
and offers.xml). `write_file` puts the bytes in an exchange directory. Text is escaped;
an empty optional field writes no element; a record with an empty `onec_id` writes no
<Ид> (1C sends such records; the reader skips them).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

UTF8_BOM = b"\xef\xbb\xbf"
ROOT_TAG = "КоммерческаяИнформация"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


# --- records -------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A <Группа> and its subgroups."""

    onec_id: str
    name: str
    children: tuple[Group, ...] = ()
    deleted: bool = False
    version: str = ""


@dataclass(frozen=True)
class Property:
    """A goods property (<Свойство>); `values` (value id -> text) make it a dictionary,
    as 1C sends the brand."""

    onec_id: str
    name: str
    value_type: str = ""
    values: Mapping[str, str] = field(default_factory=dict)
    deleted: bool = False
    version: str = ""


@dataclass(frozen=True)
class Goods:
    """A <Товар>; `pictures` are <Картинка> texts in 1C's order (see layout.picture_path),
    `properties` property id -> value (the text, or a dictionary value's id)."""

    onec_id: str
    name: str = "Товар"
    article: str = ""
    group: str = ""
    description: str = ""
    pictures: Sequence[str] = ()
    country: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)
    deleted: bool = False
    version: str = ""


@dataclass(frozen=True)
class Price:
    """A <Цена> of an offer; `value` is written as given (1C writes `1 200,50` too);
    `vat` adds 1C's <Налог> НДС, included in the price."""

    price_type_id: str
    value: str
    currency: str = ""
    presentation: str = ""
    vat: bool = False


@dataclass(frozen=True)
class Offer:
    """A <Предложение>: `goodsGUID` or `goodsGUID#characteristicGUID`. What each part says:
    `characteristics` name -> value; `prices`; `stocks` warehouse id -> quantity as 3.1
    writes them (Остатки/Остаток/Склад); `stocks_2x` the same as 2.x writes them (<Склад
    ИдСклада КоличествоНаСкладе/>); `total` the <Количество> of all warehouses. `deleted`
    None writes no <ПометкаУдаления> (1C's price and stock files say nothing of it)."""

    onec_id: str
    name: str = ""
    article: str = ""
    characteristics: Mapping[str, str] = field(default_factory=dict)
    prices: Sequence[Price] | None = None
    stocks: Mapping[str, str] | None = None
    total: str | None = None
    stocks_2x: Mapping[str, str] = field(default_factory=dict)
    deleted: bool | None = False
    version: str = ""


@dataclass(frozen=True)
class PriceType:
    onec_id: str
    name: str
    currency: str = "RUB"
    vat: bool = False
    deleted: bool = False
    version: str = ""


@dataclass(frozen=True)
class Warehouse:
    onec_id: str
    name: str
    deleted: bool = False
    version: str = ""


@dataclass(frozen=True)
class Counterparty:
    """A <Контрагент>; `nested_details` puts the legal details in <РеквизитыЮрЛица> (as
    3.1 does); `representative` adds a contact person, itself a nested <Контрагент>."""

    onec_id: str
    name: str
    full_name: str = ""
    inn: str = ""
    kpp: str = ""
    role: str = "Покупатель"
    nested_details: bool = False
    representative: str = ""
    deleted: bool = False


Record = Group | Property | Goods | Offer | PriceType | Warehouse | Counterparty


# --- elements ------------------------------------------------------------------------


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _add_optional(parent: ET.Element, tag: str, text: str | None) -> None:
    if text:
        _add(parent, tag, text)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _start_record(tag: str, onec_id: str, version: str, deleted: bool | None) -> ET.Element:
    """<tag><Ид/><НомерВерсии/><ПометкаУдаления/>, as 1C starts each record."""
    record = ET.Element(tag)
    _add_optional(record, "Ид", onec_id)
    _add_optional(record, "НомерВерсии", version)
    if deleted is not None:
        _add(record, "ПометкаУдаления", _flag(deleted))
    return record


def _add_pairs(parent: ET.Element, container: str, entry: str, tags: tuple[str, str], pairs: Mapping[str, str]) -> None:
    """<container><entry><key/><value/></entry>...</container>, nothing when no pairs."""
    if pairs:
        box = _add(parent, container)
        for key, value in pairs.items():
            item = _add(box, entry)
            _add(item, tags[0], key)
            _add(item, tags[1], value)


def _add_vat(parent: ET.Element) -> None:
    tax = _add(parent, "Налог")
    _add(tax, "Наименование", "НДС")
    _add(tax, "УчтеноВСумме", "true")


def _group(group: Group) -> ET.Element:
    element = _start_record("Группа", group.onec_id, group.version, group.deleted)
    _add(element, "Наименование", group.name)
    if group.children:
        subgroups = _add(element, "Группы")
        subgroups.extend(_group(child) for child in group.children)
    return element


def _property(prop: Property) -> ET.Element:
    element = _start_record("Свойство", prop.onec_id, prop.version, prop.deleted)
    _add(element, "Наименование", prop.name)
    _add_optional(element, "ТипЗначений", prop.value_type)
    _add_pairs(element, "ВариантыЗначений", "Справочник", ("ИдЗначения", "Значение"), prop.values)
    return element


def _goods(goods: Goods) -> ET.Element:
    element = _start_record("Товар", goods.onec_id, goods.version, goods.deleted)
    _add_optional(element, "Артикул", goods.article)
    _add(element, "Наименование", goods.name)
    if goods.group:
        _add(_add(element, "Группы"), "Ид", goods.group)
    _add_optional(element, "Описание", goods.description)
    for picture in goods.pictures:
        _add(element, "Картинка", picture)
    _add_optional(element, "Страна", goods.country)
    _add_pairs(element, "ЗначенияСвойств", "ЗначенияСвойства", ("Ид", "Значение"), goods.properties)
    return element


def _price(parent: ET.Element, price: Price) -> None:
    element = _add(parent, "Цена")
    _add_optional(element, "Представление", price.presentation)
    _add(element, "ИдТипаЦены", price.price_type_id)
    _add(element, "ЦенаЗаЕдиницу", price.value)
    _add_optional(element, "Валюта", price.currency)
    if price.vat:
        _add_vat(element)


def _offer(offer: Offer) -> ET.Element:
    element = _start_record("Предложение", offer.onec_id, offer.version, offer.deleted)
    _add_optional(element, "Артикул", offer.article)
    _add_optional(element, "Наименование", offer.name)
    _add_pairs(element, "ХарактеристикиТовара", "ХарактеристикаТовара", ("Наименование", "Значение"),
               offer.characteristics)
    if offer.prices is not None:
        prices = _add(element, "Цены")
        for price in offer.prices:
            _price(prices, price)
    if offer.stocks is not None:
        rests = _add(element, "Остатки")
        for warehouse_id, quantity in offer.stocks.items():
            warehouse = _add(_add(rests, "Остаток"), "Склад")
            _add(warehouse, "Ид", warehouse_id)
            _add(warehouse, "Количество", quantity)
    if offer.total is not None:
        _add(element, "Количество", offer.total)
    for warehouse_id, quantity in offer.stocks_2x.items():
        ET.SubElement(element, "Склад", {"ИдСклада": warehouse_id, "КоличествоНаСкладе": quantity})
    return element


def _price_type(price_type: PriceType) -> ET.Element:
    element = _start_record("ТипЦены", price_type.onec_id, price_type.version, price_type.deleted)
    _add(element, "Наименование", price_type.name)
    _add_optional(element, "Валюта", price_type.currency)
    if price_type.vat:
        _add_vat(element)
    return element


def _warehouse(warehouse: Warehouse) -> ET.Element:
    element = _start_record("Склад", warehouse.onec_id, warehouse.version, warehouse.deleted)
    _add(element, "Наименование", warehouse.name)
    return element


def _counterparty(counterparty: Counterparty) -> ET.Element:
    element = _start_record("Контрагент", counterparty.onec_id, "", counterparty.deleted)
    _add(element, "Наименование", counterparty.name)
    details = _add(element, "РеквизитыЮрЛица") if counterparty.nested_details else element
    _add_optional(details, "ОфициальноеНаименование", counterparty.full_name)
    _add_optional(details, "ИНН", counterparty.inn)
    _add_optional(details, "КПП", counterparty.kpp)
    _add_optional(element, "Роль", counterparty.role)
    if counterparty.representative:
        contact = _add(_add(_add(element, "Представители"), "Представитель"), "Контрагент")
        _add(contact, "Отношение", "Контактное лицо")
        _add(contact, "Ид", counterparty.representative)
        _add(contact, "Наименование", "Контакт")
        _add(contact, "ИНН", "000000000000")
    return element


_ELEMENTS = {
    Group: _group,
    Property: _property,
    Goods: _goods,
    Offer: _offer,
    PriceType: _price_type,
    Warehouse: _warehouse,
    Counterparty: _counterparty,
}


def record_element(record: Record) -> ET.Element:
    return _ELEMENTS[type(record)](record)


def record_xml(record: Record) -> str:
    """One record as an XML fragment, for a test that frames a file by hand."""
    return ET.tostring(record_element(record), encoding="unicode")


# --- files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CommerceMLWriter:
    """Writes the files of one exchange: every container carries the catalog's id (and
    its name, when given), every root the schema version (and the namespace, the date and
    the exchange id, when given). `only_changes` is written on every container of a file
    as СодержитТолькоИзменения (None: not said); `bom` starts the file with a UTF-8
    byte-order mark; `indent` lays the XML out with tabs, as 1C does (without it a file
    is one line, so a parse error is on line 1)."""

    catalog_id: str = "c"
    catalog_name: str = ""
    schema_version: str = "3.1"
    namespace: bool = True
    created: str = ""
    exchange_id: str = ""
    indent: bool = False

    # 3.1: one kind per file

    def groups(self, groups: Iterable[Group], *, only_changes: bool | None = None, bom: bool = False) -> bytes:
        return self._classifier_file("Группы", groups, only_changes, bom)

    def properties(self, properties: Iterable[Property], *, only_changes: bool | None = None,
                   bom: bool = False) -> bytes:
        return self._classifier_file("Свойства", properties, only_changes, bom)

    def price_types(self, price_types: Iterable[PriceType], *, only_changes: bool | None = None,
                    bom: bool = False) -> bytes:
        return self._classifier_file("ТипыЦен", price_types, only_changes, bom)

    def warehouses(self, warehouses: Iterable[Warehouse], *, only_changes: bool | None = None,
                   bom: bool = False) -> bytes:
        return self._classifier_file("Склады", warehouses, only_changes, bom)

    def goods(self, goods: Iterable[Goods], *, only_changes: bool | None = None, bom: bool = False) -> bytes:
        document = self._document()
        catalog = self._catalog(document, only_changes)
        _extend(_add(catalog, "Товары"), goods)
        _add_optional(catalog, "Описание", self.catalog_name)
        return self._bytes(document, bom)

    def offers(self, offers: Iterable[Offer], *, only_changes: bool | None = None, bom: bool = False) -> bytes:
        """An offers package: what goes to offers/, prices/ and rests/ alike."""
        document = self._document()
        _extend(_add(self._package(document, "ПакетПредложений", only_changes), "Предложения"), offers)
        return self._bytes(document, bom)

    def counterparties(self, counterparties: Iterable[Counterparty], *, only_changes: bool | None = None,
                       bom: bool = False) -> bytes:
        document = self._document()
        _extend(_container(document, "Контрагенты", only_changes), counterparties)
        return self._bytes(document, bom)

    # 2.x: import.xml and offers.xml

    def import_2x(self, *, groups: Iterable[Group] = (), goods: Iterable[Goods] = (),
                  only_changes: bool | None = None, bom: bool = False) -> bytes:
        """import.xml: the classifier (groups) and the catalog (goods)."""
        document = self._document()
        _extend(_add(self._classifier(document, only_changes), "Группы"), groups)
        _extend(_add(self._catalog(document, only_changes), "Товары"), goods)
        return self._bytes(document, bom)

    def offers_2x(self, *, price_types: Iterable[PriceType] = (), warehouses: Iterable[Warehouse] = (),
                  offers: Iterable[Offer] = (), only_changes: bool | None = None, changes_package: bool = False,
                  bom: bool = False) -> bytes:
        """offers.xml: price types, warehouses and offers in one package; `changes_package`
        names it ИзмененияПакетаПредложений (2.x's "only changes", without the flag)."""
        document = self._document()
        if changes_package:
            package = self._package(document, "ИзмененияПакетаПредложений", None)
        else:
            package = self._package(document, "ПакетПредложений", only_changes)
        _extend(_add(package, "ТипыЦен"), price_types)
        _extend(_add(package, "Склады"), warehouses)
        _extend(_add(package, "Предложения"), offers)
        return self._bytes(document, bom)

    # the frame

    def _document(self) -> ET.Element:
        attributes = {}
        if self.namespace:
            major = self.schema_version.split(".", 1)[0]
            attributes = {
                "xmlns": f"urn:1C.ru:commerceml_{major}",
                "xmlns:xs": "http://www.w3.org/2001/XMLSchema",
                "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            }
        attributes["ВерсияСхемы"] = self.schema_version
        if self.created:
            attributes["ДатаФормирования"] = self.created
        if self.exchange_id:
            attributes["Ид"] = self.exchange_id
        return ET.Element(ROOT_TAG, attributes)

    def _catalog(self, document: ET.Element, only_changes: bool | None) -> ET.Element:
        catalog = _container(document, "Каталог", only_changes)
        _add(catalog, "Ид", self.catalog_id)
        _add(catalog, "ИдКлассификатора", self.catalog_id)
        _add_optional(catalog, "Наименование", self.catalog_name)
        return catalog

    def _classifier(self, document: ET.Element, only_changes: bool | None) -> ET.Element:
        classifier = _container(document, "Классификатор", only_changes)
        _add(classifier, "Ид", self.catalog_id)
        _add_optional(classifier, "Наименование", self.catalog_name)
        return classifier

    def _classifier_file(self, container: str, records: Iterable[Record], only_changes: bool | None,
                         bom: bool) -> bytes:
        """3.1 writes a classifier kind as the catalog's header and a <Классификатор>."""
        document = self._document()
        _add_optional(self._catalog(document, only_changes), "Описание", self.catalog_name)
        _extend(_add(self._classifier(document, only_changes), container), records)
        return self._bytes(document, bom)

    def _package(self, document: ET.Element, tag: str, only_changes: bool | None) -> ET.Element:
        package = _container(document, tag, only_changes)
        _add(package, "Ид", f"#{self.catalog_id}")
        if self.catalog_name:
            _add(package, "Наименование", f"Пакет предложений ({self.catalog_name})")
        _add(package, "ИдКаталога", self.catalog_id)
        _add(package, "ИдКлассификатора", self.catalog_id)
        return package

    def _bytes(self, document: ET.Element, bom: bool) -> bytes:
        declaration = _XML_DECLARATION
        if self.indent:
            ET.indent(document, space="\t")
            declaration += "\n"
        text = declaration + ET.tostring(document, encoding="unicode")
        return (UTF8_BOM if bom else b"") + text.encode("utf-8")


def _container(parent: ET.Element, tag: str, only_changes: bool | None) -> ET.Element:
    attributes = {} if only_changes is None else {"СодержитТолькоИзменения": _flag(only_changes)}
    return ET.SubElement(parent, tag, attributes)


def _extend(container: ET.Element, records: Iterable[Record]) -> None:
    container.extend(record_element(record) for record in records)


def write_file(root: Path, name: str, data: bytes) -> Path:
    """Put an exchange file at `root`/`name` (e.g. layout.part_file_name(...)), creating
    its folder."""
    path = Path(root) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
