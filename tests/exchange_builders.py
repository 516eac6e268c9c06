"""Small CommerceML exchanges written on disk for tests through commerceml.writer: 3.1
(one folder per kind) and 2.x (import.xml + offers.xml). Every name and number here is
made up."""
from __future__ import annotations

from pathlib import Path

from commerceml.writer import CommerceMLWriter, write_file

WRITER = CommerceMLWriter()
WRITER_2X = CommerceMLWriter(schema_version="2.07")


class Exchange31:
    """A CommerceML 3.1 exchange: one folder per kind, files possibly split into parts
    (`filename`, else <kind>.xml)."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _write(self, kind: str, render, records, *, only_changes: bool | None = True, filename: str | None = None,
               bom=False) -> Path:
        data = render(records, only_changes=only_changes, bom=bom)
        return write_file(self.root, f"{kind}/{filename or f'{kind}.xml'}", data)

    def groups(self, *groups, **options) -> Path:
        return self._write("groups", WRITER.groups, groups, **options)

    def properties(self, *properties, **options) -> Path:
        return self._write("propertiesGoods", WRITER.properties, properties, **{"only_changes": None, **options})

    def goods(self, *goods, **options) -> Path:
        return self._write("goods", WRITER.goods, goods, **options)

    def offers(self, *offers, **options) -> Path:
        return self._write("offers", WRITER.offers, offers, **options)

    def prices(self, *offers, **options) -> Path:
        return self._write("prices", WRITER.offers, offers, **options)

    def rests(self, *offers, **options) -> Path:
        return self._write("rests", WRITER.offers, offers, **options)

    def price_lists(self, *price_types, **options) -> Path:
        return self._write("priceLists", WRITER.price_types, price_types, **options)

    def storages(self, *warehouses, **options) -> Path:
        return self._write("storages", WRITER.warehouses, warehouses, **options)

    def contragents(self, *counterparties, **options) -> Path:
        return self._write("contragents", WRITER.counterparties, counterparties, **options)


def write_exchange_2x(root: Path, *, groups=(), goods=(), price_types=(), warehouses=(), offers=(),
                      only_changes: bool | None = False, changes_package=False) -> None:
    """A CommerceML 2.x exchange: import.xml (classifier + catalog) and offers.xml (price
    types, warehouses, offers with prices and stocks) side by side."""
    write_file(root, "import.xml", WRITER_2X.import_2x(groups=groups, goods=goods, only_changes=only_changes))
    write_file(root, "offers.xml", WRITER_2X.offers_2x(
        price_types=price_types, warehouses=warehouses, offers=offers, only_changes=only_changes,
        changes_package=changes_package,
    ))
