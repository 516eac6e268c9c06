"""CommerceML (1C exchange XML) reading: pure, streaming, no ORM.

Handles schema 3.1 (one folder per kind: goods/, offers/, ..., possibly split into
`kind_1_N_<uuid>.xml` parts) and 2.x (import.xml + offers.xml in one folder), with or
without a UTF-8 byte-order mark, with or without the XML namespace. Memory stays flat in
file size: every element outside the record being read is dropped once it ends.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path


def gettext_noop(text: str) -> str:
    """Marks a text for people for the translation catalogue (`./dev messages` finds it by
    this name, as it finds Django's own) without importing Django: returns it unchanged."""
    return text


class ReaderMessage:
    """A text for people from the reader: its English source (the catalogue's msgid, marked
    with `gettext_noop`) and the values of its `%(name)s` placeholders, a value possibly
    itself a ReaderMessage. Plain Python: the imports store it as an apps.i18n Message
    (`as_message`), shown in the site's language; str() is the English text (logs, tests)."""

    __slots__ = ("text", "params")

    def __init__(self, text: str, /, **params: object):
        self.text = text
        self.params = params

    def __str__(self) -> str:
        values = {name: str(value) if isinstance(value, ReaderMessage) else value for name, value in self.params.items()}
        return self.text % values if values else self.text

    def __repr__(self) -> str:
        return f"ReaderMessage({self.text!r}, **{self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, ReaderMessage) and (self.text, self.params) == (other.text, other.params)


class CommerceMLError(ValueError):
    """Malformed exchange XML; the message (a ReaderMessage) names the file and line."""


_TRUE_VALUES = {"true", "1", "истина", "да"}
ONLY_CHANGES_ATTRIBUTE = "СодержитТолькоИзменения"
# 2.x names an offers file that carries only changes by its root element.
_ONLY_CHANGES_CONTAINERS = {"ИзмененияПакетаПредложений"}
_NULL_GUID = "00000000-0000-0000-0000-000000000000"


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def iter_elements(
    path: Path,
    name: str,
    *,
    parent: str | None = None,
    on_container: Callable[[str, bool], None] | None = None,
) -> Iterator[ET.Element]:
    """Yield each complete element called `name` (namespace ignored), then free it.

    `parent` restricts matches to children of an element of that name (a warehouse in
    <Склады>, not the <Склад> of a stock line). An element nested in a match is part of
    it, not a match of its own. Everything outside a match is dropped when it ends, so
    memory holds one record at a time. `on_container(name, only_changes)` is called for
    each element that says whether it carries only changes.
    """
    stack: list[ET.Element] = []
    current: ET.Element | None = None  # the match being built; matches never nest
    try:
        for event, elem in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                tag = local_name(elem.tag)
                if on_container is not None:
                    flag = elem.get(ONLY_CHANGES_ATTRIBUTE)
                    if flag is not None:
                        on_container(tag, flag.strip().lower() in _TRUE_VALUES)
                    elif tag in _ONLY_CHANGES_CONTAINERS:
                        on_container(tag, True)
                if current is None and tag == name and (parent is None or (stack and local_name(stack[-1].tag) == parent)):
                    current = elem
                stack.append(elem)
                continue
            stack.pop()
            if on_container is not None and stack and local_name(elem.tag) == ONLY_CHANGES_ATTRIBUTE:
                # older 2.x writes the flag as a child element of the container
                on_container(local_name(stack[-1].tag), (elem.text or "").strip().lower() in _TRUE_VALUES)
            if elem is current:
                current = None
                yield elem
            elif current is not None:
                continue
            if stack:
                stack[-1].remove(elem)
    except ET.ParseError as exc:
        line, column = exc.position
        raise CommerceMLError(ReaderMessage(
            gettext_noop("%(path)s: line %(line)s, column %(column)s: malformed XML (%(error)s); ask 1C to re-export this file"),
            path=str(path), line=line, column=column, error=str(exc),
        )) from None
    except (LookupError, ValueError) as exc:
        # The XML declaration names an encoding expat cannot read: unknown (LookupError) or
        # multi-byte other than UTF-8/16 (ValueError), e.g. encoding="shift_jis".
        raise CommerceMLError(ReaderMessage(
            gettext_noop(
                "%(path)s: the encoding its XML declaration names cannot be read (%(error)s); "
                "ask 1C to export in UTF-8 (or windows-1251)"
            ),
            path=str(path), error=str(exc),
        )) from None


def child(elem: ET.Element, name: str) -> ET.Element | None:
    for item in elem:
        if local_name(item.tag) == name:
            return item
    return None


def child_text(elem: ET.Element, name: str) -> str:
    found = child(elem, name)
    return (found.text or "").strip() if found is not None else ""


def children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [item for item in elem if local_name(item.tag) == name]


def children_texts(elem: ET.Element, name: str) -> list[str]:
    return [(item.text or "").strip() for item in children(elem, name) if (item.text or "").strip()]


def grandchildren(elem: ET.Element, container: str, name: str) -> list[ET.Element]:
    """<container><name/>...</container> under `elem`, e.g. Цены/Цена."""
    box = child(elem, container)
    return children(box, name) if box is not None else []


def is_deletion_marked(elem: ET.Element) -> bool:
    """3.1 says <ПометкаУдаления>true</ПометкаУдаления>; 2.x may say Статус="Удален"."""
    if child_text(elem, "ПометкаУдаления").lower() in _TRUE_VALUES:
        return True
    status = elem.get("Статус") or child_text(elem, "Статус")
    return status.strip().lower() == "удален"


def parse_decimal(text: str) -> Decimal | None:
    """1C numbers: `6990`, `21.6`, `21,6`, `6 990` (also with no-break spaces)."""
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text or "").replace(",", ".")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def split_offer_id(offer_id: str) -> tuple[str, str]:
    """`goodsGUID#characteristicGUID` -> (goods, characteristic); a bare goods id -> (goods, "").

    The one place an offer id is split: offers, prices, stocks and the photo folder scan
    (a variant shows its goods' photos) all go through it."""
    goods, _, characteristic = offer_id.partition("#")
    return goods.strip(), characteristic.strip()


# --- records -------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedElement:
    """An element that could not be read as a record, with where it is and why."""

    path: str
    reason: ReaderMessage


@dataclass(frozen=True)
class GroupItem:
    onec_id: str
    name: str
    parent_id: str
    is_deleted: bool


@dataclass(frozen=True)
class PropertyItem:
    """A goods property and its dictionary values (id -> text), e.g. the brand."""

    onec_id: str
    name: str
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class GoodsItem:
    onec_id: str
    name: str
    article: str
    is_deleted: bool
    picture_paths: tuple[str, ...]
    group_id: str = ""
    description: str = ""
    property_values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OfferPrice:
    price_type_id: str
    value: Decimal
    currency: str


@dataclass(frozen=True)
class OfferStock:
    """Quantity of an offer in a warehouse; `warehouse_id` is "" for an offer's total
    when 1C sends no per-warehouse split."""

    warehouse_id: str
    quantity: Decimal


@dataclass(frozen=True)
class OfferItem:
    """A <Предложение>: what each kind of offers file says about it. `prices` and
    `stocks` are None when the element has no such part (not "zero")."""

    onec_id: str
    name: str
    article: str
    is_deleted: bool
    characteristics: tuple[tuple[str, str], ...]
    prices: tuple[OfferPrice, ...] | None
    stocks: tuple[OfferStock, ...] | None
    problems: tuple[ReaderMessage, ...] = ()

    @property
    def characteristic_id(self) -> str:
        return split_offer_id(self.onec_id)[1]


@dataclass(frozen=True)
class PriceTypeItem:
    onec_id: str
    name: str
    currency: str
    is_deleted: bool


@dataclass(frozen=True)
class WarehouseItem:
    onec_id: str
    name: str
    is_deleted: bool


@dataclass(frozen=True)
class CounterpartyItem:
    onec_id: str
    name: str
    full_name: str
    inn: str
    kpp: str
    role: str
    is_deleted: bool


def _read_groups(elem: ET.Element) -> Iterator[GroupItem]:
    """A top-level <Группа> and its subtree, parents before children, in document order;
    without recursion, so a subtree of any depth is read."""
    pending = [(elem, "")]
    while pending:
        group, parent_id = pending.pop()
        onec_id = child_text(group, "Ид")
        yield GroupItem(onec_id=onec_id, name=child_text(group, "Наименование"), parent_id=parent_id,
                        is_deleted=is_deletion_marked(group))
        pending += [(sub, onec_id) for sub in reversed(grandchildren(group, "Группы", "Группа"))]


def _read_property(elem: ET.Element) -> Iterator[PropertyItem]:
    values = []
    for variant in grandchildren(elem, "ВариантыЗначений", "Справочник"):
        value_id, text = child_text(variant, "ИдЗначения"), child_text(variant, "Значение")
        if value_id:
            values.append((value_id, text))
    yield PropertyItem(onec_id=child_text(elem, "Ид"), name=child_text(elem, "Наименование"), values=tuple(values))


def _read_goods(elem: ET.Element) -> Iterator[GoodsItem]:
    groups = child(elem, "Группы")
    yield GoodsItem(
        onec_id=child_text(elem, "Ид"),
        name=child_text(elem, "Наименование"),
        article=child_text(elem, "Артикул"),
        is_deleted=is_deletion_marked(elem),
        picture_paths=tuple(children_texts(elem, "Картинка")),
        group_id=child_text(groups, "Ид") if groups is not None else "",
        description=child_text(elem, "Описание"),
        property_values=tuple(
            (child_text(value, "Ид"), child_text(value, "Значение"))
            for value in grandchildren(elem, "ЗначенияСвойств", "ЗначенияСвойства")
            if child_text(value, "Значение") not in ("", _NULL_GUID)
        ),
    )


def _read_offer(elem: ET.Element) -> Iterator[OfferItem]:
    onec_id = child_text(elem, "Ид")
    problems: list[ReaderMessage] = []
    prices = None
    if child(elem, "Цены") is not None:
        prices = []
        for price in grandchildren(elem, "Цены", "Цена"):
            type_id, raw = child_text(price, "ИдТипаЦены"), child_text(price, "ЦенаЗаЕдиницу")
            value = parse_decimal(raw)
            if not type_id:
                problems.append(ReaderMessage(
                    gettext_noop("offer %(id)s: price %(price)s names no price type (<ИдТипаЦены>); skipped"),
                    id=onec_id, price=repr(raw),
                ))
                continue
            if value is None:
                problems.append(ReaderMessage(
                    gettext_noop("offer %(id)s: price %(price)s of price type %(type)s is not a number; skipped"),
                    id=onec_id, price=repr(raw), type=type_id,
                ))
                continue
            prices.append(OfferPrice(price_type_id=type_id, value=value, currency=child_text(price, "Валюта")))
        prices = tuple(prices)
    stocks = _read_offer_stocks(elem, onec_id, problems)
    yield OfferItem(
        onec_id=onec_id,
        name=child_text(elem, "Наименование"),
        article=child_text(elem, "Артикул"),
        is_deleted=is_deletion_marked(elem),
        characteristics=tuple(
            (child_text(item, "Наименование"), child_text(item, "Значение"))
            for item in grandchildren(elem, "ХарактеристикиТовара", "ХарактеристикаТовара")
            if child_text(item, "Наименование") and child_text(item, "Значение")
        ),
        prices=prices,
        stocks=stocks,
        problems=tuple(problems),
    )


def _read_offer_stocks(elem: ET.Element, onec_id: str, problems: list[ReaderMessage]) -> tuple[OfferStock, ...] | None:
    """3.1: Остатки/Остаток/Склад{Ид, Количество} (or Остаток/Количество for a total);
    2.x: <Склад ИдСклада= КоличествоНаСкладе=/> and <Количество> (the total)."""
    found: list[tuple[str, str]] = []
    has_stock_part = child(elem, "Остатки") is not None
    for rest in grandchildren(elem, "Остатки", "Остаток"):
        warehouses = children(rest, "Склад")
        if warehouses:
            found += [(child_text(w, "Ид"), child_text(w, "Количество")) for w in warehouses]
        elif child(rest, "Количество") is not None:
            found.append(("", child_text(rest, "Количество")))
    for warehouse in children(elem, "Склад"):
        has_stock_part = True
        found.append((warehouse.get("ИдСклада", "").strip(), warehouse.get("КоличествоНаСкладе", "")))
    if not found and child(elem, "Количество") is not None:
        has_stock_part = True
        found.append(("", child_text(elem, "Количество")))
    if not has_stock_part:
        return None
    stocks = []
    for warehouse_id, raw in found:
        quantity = parse_decimal(raw)
        if quantity is None:
            problems.append(
                ReaderMessage(
                    gettext_noop("offer %(id)s: quantity %(quantity)s in warehouse %(warehouse)s is not a number; skipped"),
                    id=onec_id, quantity=repr(raw), warehouse=warehouse_id,
                ) if warehouse_id else ReaderMessage(
                    gettext_noop("offer %(id)s: total quantity %(quantity)s is not a number; skipped"),
                    id=onec_id, quantity=repr(raw),
                )
            )
            continue
        stocks.append(OfferStock(warehouse_id=warehouse_id, quantity=quantity))
    return tuple(stocks)


def _read_price_type(elem: ET.Element) -> Iterator[PriceTypeItem]:
    yield PriceTypeItem(
        onec_id=child_text(elem, "Ид"),
        name=child_text(elem, "Наименование"),
        currency=child_text(elem, "Валюта"),
        is_deleted=is_deletion_marked(elem),
    )


def _read_warehouse(elem: ET.Element) -> Iterator[WarehouseItem]:
    yield WarehouseItem(
        onec_id=child_text(elem, "Ид"), name=child_text(elem, "Наименование"), is_deleted=is_deletion_marked(elem)
    )


_COUNTERPARTY_DETAILS = ("РеквизитыЮрЛица", "РеквизитыФизЛица")


def _counterparty_text(elem: ET.Element, *names: str) -> str:
    """The first of `names` on the counterparty itself, else in its legal/person details
    (3.1 nests them there); never from a representative's nested <Контрагент>."""
    scopes = [elem] + [found for detail in _COUNTERPARTY_DETAILS if (found := child(elem, detail)) is not None]
    for scope in scopes:
        for name in names:
            if value := child_text(scope, name):
                return value
    return ""


def _read_counterparty(elem: ET.Element) -> Iterator[CounterpartyItem]:
    yield CounterpartyItem(
        onec_id=child_text(elem, "Ид"),
        name=_counterparty_text(elem, "Наименование"),
        full_name=_counterparty_text(elem, "ПолноеНаименование", "ОфициальноеНаименование"),
        inn=_counterparty_text(elem, "ИНН"),
        kpp=_counterparty_text(elem, "КПП"),
        role=_counterparty_text(elem, "Роль"),
        is_deleted=is_deletion_marked(elem),
    )


@dataclass(frozen=True)
class RecordSpec:
    """How one kind of record is found in an exchange file and read."""

    label: str  # what a message calls the record (marked for the catalogue)
    element: str
    parent: str | None
    read: Callable[[ET.Element], Iterable]


GROUPS = RecordSpec(gettext_noop("group"), "Группа", "Группы", _read_groups)
PROPERTIES = RecordSpec(gettext_noop("property"), "Свойство", "Свойства", _read_property)
GOODS = RecordSpec(gettext_noop("goods"), "Товар", "Товары", _read_goods)
OFFERS = RecordSpec(gettext_noop("offer"), "Предложение", "Предложения", _read_offer)
PRICE_TYPES = RecordSpec(gettext_noop("price type"), "ТипЦены", "ТипыЦен", _read_price_type)
WAREHOUSES = RecordSpec(gettext_noop("warehouse"), "Склад", "Склады", _read_warehouse)
COUNTERPARTIES = RecordSpec(gettext_noop("counterparty"), "Контрагент", "Контрагенты", _read_counterparty)


class ExchangeDocument:
    """One exchange XML file. After its records have been read, `only_changes` says what
    1C declared: True (СодержитТолькоИзменения="true", a partial exchange), False (a full
    exchange) or None (not said; treated as partial, so nothing is removed on a guess)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.only_changes: bool | None = None

    def _note_container(self, name: str, only_changes: bool) -> None:
        self.only_changes = only_changes if self.only_changes is None else (self.only_changes or only_changes)

    def records(self, spec: RecordSpec) -> Iterator:
        """The file's records of one kind in document order; an element without <Ид> is
        yielded as a SkippedElement naming the file and the element."""
        elements = iter_elements(self.path, spec.element, parent=spec.parent, on_container=self._note_container)
        for index, elem in enumerate(elements, start=1):
            for record in spec.read(elem):
                if record.onec_id:
                    yield record
                else:
                    name = getattr(record, "name", "")
                    kind = ReaderMessage(spec.label)
                    yield SkippedElement(path=str(self.path), reason=ReaderMessage(
                        gettext_noop("%(kind)s #%(index)s (%(name)s) has no <Ид>; skipped"), kind=kind, index=index, name=name,
                    ) if name else ReaderMessage(
                        gettext_noop("%(kind)s #%(index)s (no name) has no <Ид>; skipped"), kind=kind, index=index,
                    ))

    @property
    def is_full_exchange(self) -> bool:
        return self.only_changes is False


BRAND_PROPERTY_NAMES = frozenset({"бренд", "торговая марка", "марка", "brand"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class BrandDictionary:
    """Which goods properties are the brand, and the brand names behind their values.

    1C sends a brand as a property value: either the text itself, or a reference to a
    dictionary value defined with the property (propertiesGoods/, or the 2.x classifier).
    """

    property_ids: frozenset[str] = frozenset()
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_properties(cls, properties: Iterable[PropertyItem]) -> BrandDictionary:
        property_ids: set[str] = set()
        names: dict[str, str] = {}
        for item in properties:
            if item.onec_id.casefold() in BRAND_PROPERTY_NAMES or item.name.casefold() in BRAND_PROPERTY_NAMES:
                property_ids.add(item.onec_id)
                names.update(item.values)
        return cls(property_ids=frozenset(property_ids), names=names)

    def as_dict(self) -> dict:
        return {"property_ids": sorted(self.property_ids), "names": dict(self.names)}

    @classmethod
    def from_dict(cls, data: dict | None) -> BrandDictionary:
        data = data or {}
        return cls(property_ids=frozenset(data.get("property_ids", ())), names=dict(data.get("names", {})))

    def brand_of(self, goods: GoodsItem) -> tuple[str, str]:
        """(brand name, brand id in 1C) of the goods; ("", "") when 1C sent none. A
        reference whose name 1C did not send keeps its id and an empty name."""
        for property_id, value in goods.property_values:
            if property_id in self.property_ids or property_id.casefold() in BRAND_PROPERTY_NAMES:
                if value in self.names:
                    return self.names[value], value
                if _GUID.match(value):
                    return "", value
                return value, ""
        return "", ""


def read_brand_dictionary(paths: Iterable[Path]) -> BrandDictionary:
    """The brand properties of the exchange's property files."""
    return BrandDictionary.from_properties(
        record for path in paths for record in ExchangeDocument(path).records(PROPERTIES)
        if isinstance(record, PropertyItem)
    )
