"""Small CommerceML exchanges written on disk for tests: 3.1 (one folder per kind) and
2.x (import.xml + offers.xml). Every name and number here is made up."""
from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

NS3 = 'xmlns="urn:1C.ru:commerceml_3" ВерсияСхемы="3.1"'
NS2 = 'xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.07"'


def _flag(only_changes: bool | None) -> str:
    return "" if only_changes is None else f' СодержитТолькоИзменения="{"true" if only_changes else "false"}"'


def _tag(name: str, value) -> str:
    return f"<{name}>{escape(str(value))}</{name}>" if value not in (None, "") else ""


def group_xml(guid: str, name: str, children: tuple = (), deleted: bool = False) -> str:
    subgroups = f"<Группы>{''.join(group_xml(*child) for child in children)}</Группы>" if children else ""
    return (
        f"<Группа><Ид>{guid}</Ид><ПометкаУдаления>{str(deleted).lower()}</ПометкаУдаления>"
        f"<Наименование>{escape(name)}</Наименование>{subgroups}</Группа>"
    )


def goods_xml(guid: str, name: str = "Товар", *, article="", group="", description="", pictures=(),
              deleted=False, properties: dict | None = None) -> str:
    values = "".join(
        f"<ЗначенияСвойства><Ид>{pid}</Ид><Значение>{escape(v)}</Значение></ЗначенияСвойства>"
        for pid, v in (properties or {}).items()
    )
    return (
        f"<Товар><Ид>{guid}</Ид><ПометкаУдаления>{str(deleted).lower()}</ПометкаУдаления>{_tag('Артикул', article)}"
        f"<Наименование>{escape(name)}</Наименование>"
        + (f"<Группы><Ид>{group}</Ид></Группы>" if group else "")
        + _tag("Описание", description)
        + "".join(f"<Картинка>{p}</Картинка>" for p in pictures)
        + (f"<ЗначенияСвойств>{values}</ЗначенияСвойств>" if values else "")
        + "</Товар>"
    )


def offer_xml(offer_id: str, name: str = "", *, characteristics: dict | None = None, deleted=False,
              prices: list | None = None, rests: dict | None = None, legacy_rests: dict | None = None,
              total=None) -> str:
    """prices: [(price type id, value, currency)]; rests: {warehouse id: qty} (3.1);
    legacy_rests: {warehouse id: qty} as 2.x <Склад ИдСклада КоличествоНаСкладе/>; total: 2.x <Количество>."""
    parts = [f"<Ид>{offer_id}</Ид><ПометкаУдаления>{str(deleted).lower()}</ПометкаУдаления>", _tag("Наименование", name)]
    if characteristics:
        parts.append(
            "<ХарактеристикиТовара>"
            + "".join(
                f"<ХарактеристикаТовара><Наименование>{escape(k)}</Наименование><Значение>{escape(v)}</Значение>"
                "</ХарактеристикаТовара>"
                for k, v in characteristics.items()
            )
            + "</ХарактеристикиТовара>"
        )
    if prices is not None:
        parts.append(
            "<Цены>"
            + "".join(
                f"<Цена><ИдТипаЦены>{t}</ИдТипаЦены><ЦенаЗаЕдиницу>{v}</ЦенаЗаЕдиницу>{_tag('Валюта', c)}</Цена>"
                for t, v, c in prices
            )
            + "</Цены>"
        )
    if rests is not None:
        parts.append(
            "<Остатки>"
            + "".join(
                f"<Остаток><Склад><Ид>{w}</Ид><Количество>{q}</Количество></Склад></Остаток>" for w, q in rests.items()
            )
            + "</Остатки>"
        )
    if total is not None:
        parts.append(f"<Количество>{total}</Количество>")
    for w, q in (legacy_rests or {}).items():
        parts.append(f'<Склад ИдСклада="{w}" КоличествоНаСкладе="{q}"/>')
    return f"<Предложение>{''.join(parts)}</Предложение>"


def named_xml(element: str, guid: str, name: str, *, deleted=False, extra="") -> str:
    return (
        f"<{element}><Ид>{guid}</Ид><ПометкаУдаления>{str(deleted).lower()}</ПометкаУдаления>"
        f"<Наименование>{escape(name)}</Наименование>{extra}</{element}>"
    )


def price_type_xml(guid: str, name: str, currency: str = "RUB", deleted=False) -> str:
    return named_xml("ТипЦены", guid, name, deleted=deleted, extra=_tag("Валюта", currency))


def warehouse_xml(guid: str, name: str, deleted=False) -> str:
    return named_xml("Склад", guid, name, deleted=deleted)


def counterparty_xml(guid: str, name: str, *, full_name="", inn="", kpp="", role="Покупатель", deleted=False,
                     nested_details=False, representative: str = "") -> str:
    details = _tag("ОфициальноеНаименование", full_name) + _tag("ИНН", inn) + _tag("КПП", kpp)
    if nested_details:
        details = f"<РеквизитыЮрЛица>{details}</РеквизитыЮрЛица>"
    reps = (
        "<Представители><Представитель><Контрагент><Отношение>Контактное лицо</Отношение>"
        f"<Ид>{representative}</Ид><Наименование>Контакт</Наименование><ИНН>000000000000</ИНН></Контрагент>"
        "</Представитель></Представители>"
        if representative else ""
    )
    return named_xml("Контрагент", guid, name, deleted=deleted, extra=details + _tag("Роль", role) + reps)


class Exchange31:
    """A CommerceML 3.1 exchange: one folder per kind, files possibly split into parts."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def write(self, kind: str, body: str, *, filename: str | None = None, bom=False) -> Path:
        folder = self.root / kind
        folder.mkdir(exist_ok=True)
        path = folder / (filename or f"{kind}.xml")
        xml = f'<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация {NS3}>{body}</КоммерческаяИнформация>'
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + xml.encode("utf-8"))
        return path

    def groups(self, *groups: str, only_changes: bool | None = True, **kw) -> Path:
        return self.write("groups", f"<Классификатор{_flag(only_changes)}><Ид>c</Ид><Группы>{''.join(groups)}</Группы></Классификатор>", **kw)

    def properties(self, body: str, **kw) -> Path:
        return self.write("propertiesGoods", f"<Классификатор><Ид>c</Ид><Свойства>{body}</Свойства></Классификатор>", **kw)

    def goods(self, *goods: str, only_changes: bool | None = True, **kw) -> Path:
        return self.write("goods", f"<Каталог{_flag(only_changes)}><Ид>c</Ид><Товары>{''.join(goods)}</Товары></Каталог>", **kw)

    def _offers(self, kind: str, offers, only_changes, **kw) -> Path:
        return self.write(
            kind, f"<ПакетПредложений{_flag(only_changes)}><Ид>p</Ид><Предложения>{''.join(offers)}</Предложения></ПакетПредложений>", **kw
        )

    def offers(self, *offers: str, only_changes: bool | None = True, **kw) -> Path:
        return self._offers("offers", offers, only_changes, **kw)

    def prices(self, *offers: str, only_changes: bool | None = True, **kw) -> Path:
        return self._offers("prices", offers, only_changes, **kw)

    def rests(self, *offers: str, only_changes: bool | None = True, **kw) -> Path:
        return self._offers("rests", offers, only_changes, **kw)

    def price_lists(self, *types: str, only_changes: bool | None = True, **kw) -> Path:
        return self.write("priceLists", f"<Классификатор{_flag(only_changes)}><Ид>c</Ид><ТипыЦен>{''.join(types)}</ТипыЦен></Классификатор>", **kw)

    def storages(self, *warehouses: str, only_changes: bool | None = True, **kw) -> Path:
        return self.write("storages", f"<Классификатор{_flag(only_changes)}><Ид>c</Ид><Склады>{''.join(warehouses)}</Склады></Классификатор>", **kw)

    def contragents(self, *counterparties: str, only_changes: bool | None = True, **kw) -> Path:
        return self.write("contragents", f"<Контрагенты{_flag(only_changes)}>{''.join(counterparties)}</Контрагенты>", **kw)


def write_exchange_2x(root: Path, *, groups=(), goods=(), price_types=(), warehouses=(), offers=(),
                      only_changes: bool | None = False, changes_package=False) -> None:
    """A CommerceML 2.x exchange: import.xml (classifier + catalog) and offers.xml (price
    types, warehouses, offers with prices and stocks) side by side."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "import.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация {NS2}>'
        f"<Классификатор><Ид>c</Ид><Группы>{''.join(groups)}</Группы></Классификатор>"
        f"<Каталог{_flag(only_changes)}><Ид>c</Ид><Товары>{''.join(goods)}</Товары></Каталог>"
        "</КоммерческаяИнформация>",
        encoding="utf-8",
    )
    package = "ИзмененияПакетаПредложений" if changes_package else "ПакетПредложений"
    (root / "offers.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация {NS2}>'
        f"<{package}{'' if changes_package else _flag(only_changes)}><Ид>p</Ид>"
        f"<ТипыЦен>{''.join(price_types)}</ТипыЦен><Склады>{''.join(warehouses)}</Склады>"
        f"<Предложения>{''.join(offers)}</Предложения></{package}>"
        "</КоммерческаяИнформация>",
        encoding="utf-8",
    )
