"""The import types: one spec per type, the only place a type is described.

The session model's choices, the 1C import page, the session admin, preflight, the
command line, the flows' summaries and the prefect.yaml test all read `IMPORT_TYPES`.
Adding a type means one spec here, one flow module in `flows/`, one service module (and
its deployment in prefect.yaml, which a test checks against this spec).

Flows and services are named by dotted path, so this module imports neither: Django
loads it with the models, long before Prefect or the services are needed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.utils.module_loading import import_string
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .options import ImageImportOptions


@dataclass(frozen=True)
class ReportCounter:
    """A number in a session's report: its key, how the admin names it, what it counts."""

    key: str
    label: str  # lazy translations: read in the site's language when shown
    unit: str
    help_text: str = ""


@dataclass(frozen=True)
class ExchangeKind:
    """One kind of exchange file a type reads (a folder of CommerceML 3 or a 2.x file),
    with the service that imports a file of it and the one that, after a full exchange,
    removes what 1C no longer sends."""

    kind: str
    import_file: str
    remove_absent: str

    def import_file_service(self):
        return import_string(self.import_file)

    def remove_absent_service(self):
        return import_string(self.remove_absent)


@dataclass(frozen=True)
class ImportTypeSpec:
    key: str
    label: str
    description: str
    files: tuple[str, ...]  # what the type reads, relative to the exchange directory
    needs_catalog: bool  # refuses to start without active products
    flow: str  # dotted path of the Prefect flow
    flow_name: str  # the flow's name in Prefect (the deployment is `<flow_name>/<key>`)
    counters: tuple[ReportCounter, ...]
    # The list page's short result: these counters' values, separated by " / ".
    summary_counters: tuple[str, ...]
    kinds: tuple[ExchangeKind, ...] = ()  # exchange types: the kinds in import order
    required_kind: str = ""  # without files of this kind there is nothing to import
    # The options object its flow takes as `options` (built by the admin page and the CLI).
    options: type | None = None
    # What one entry of the per-record error list is about.
    error_unit: str = "records"

    @property
    def deployment_name(self) -> str:
        return f"{self.flow_name}/{self.key}"

    def load_flow(self):
        """The flow object (imports the flows package, which sets Django up)."""
        return import_string(self.flow.replace(":", "."))

    def files_in(self, data_dir: Path) -> str:
        return ", ".join(str(Path(data_dir) / pattern) for pattern in self.files)

    def counter(self, key: str) -> ReportCounter | None:
        return next((counter for counter in self.counters if counter.key == key), None)


# --- counters ---------------------------------------------------------------------------

_FILES = _("files")
_RECORDS = _("records")


def _files_counters() -> tuple[ReportCounter, ...]:
    return (
        ReportCounter("total_files", _("Exchange files"), _FILES, _("The exchange's XML files this import reads.")),
        ReportCounter("processed", _("Files processed"), _FILES, _("Exchange files already read.")),
    )


def _rows_counters(prefix: str, label: str, *, deactivated: bool = True) -> tuple[ReportCounter, ...]:
    counters = (
        ReportCounter(f"{prefix}created", format_lazy(_("{what}: created"), what=label), _RECORDS, _("New records from 1C.")),
        ReportCounter(
            f"{prefix}updated", format_lazy(_("{what}: updated"), what=label), _RECORDS,
            _("Records that existed and were overwritten."),
        ),
    )
    if deactivated:
        counters += (
            ReportCounter(
                f"{prefix}deactivated", format_lazy(_("{what}: marked for deletion"), what=label), _RECORDS,
                _("Sent by 1C marked for deletion: unpublished, not deleted."),
            ),
        )
    return counters + (
        ReportCounter(
            f"{prefix}absent", format_lazy(_("{what}: not in the full export"), what=label), _RECORDS,
            _("Only after a full export: records 1C no longer sends (deactivated or deleted)."),
        ),
    )


_UNKNOWN_OFFERS = ReportCounter(
    "unknown_offers", _("Offers without goods in the catalog"), _RECORDS,
    _("Offers whose goods are not in the catalog: not imported; the first ones are listed on this page."),
)
_OFFERS = ReportCounter("offers", _("Offers imported"), _RECORDS, _("Offers (goods and variants) from the files."))
_RECORD_ERRORS = ReportCounter(
    "errors", _("Records with errors"), _RECORDS, _("Exchange records that could not be read or written; the list is below.")
)

_IMAGE_COUNTERS = (
    ReportCounter("total_products", _("Products in total"), _("products"), _("The catalog's active products when the import started.")),
    ReportCounter("processed", _("Products processed"), _("products"), _("Products whose images have been looked at.")),
    ReportCounter(
        "products_without_images", _("Products without images"), _("products"),
        _("Products with no <Картинка> in 1C and no files in import_files: nothing to import for them."),
    ),
    ReportCounter(
        "main_images_set", _("Products with a new main image"), _("products"),
        _("Products whose main image appeared or changed."),
    ),
    ReportCounter("gallery_added", _("Added to galleries"), _("gallery entries"), _("Images added to the products' galleries.")),
    ReportCounter(
        "removed", _("Removed from galleries"), _("gallery entries"),
        _("Only in mirror mode: images no longer in the product's <Картинка> list in 1C."),
    ),
    ReportCounter("copied", _("Files copied"), _FILES, _("Image files copied into media (replaced ones included).")),
    ReportCounter("replaced", _("of them replaced"), _FILES, _("Files changed in 1C and therefore replaced in media.")),
    ReportCounter(
        "restored", _("of them restored"), _FILES,
        _("Only with the storage check: files missing from the storage (or of another size); uploaded again."),
    ),
    ReportCounter(
        "skipped", _("Files skipped: already up to date"), _FILES,
        _("Files already in media (same size and modification time, or same content); not copied."),
    ),
    ReportCounter(
        "renditions_created", _("Web versions made"), _("web version files"),
        _("WebP/JPEG for the storefront (ONEC_IMAGE_RENDITIONS), made for new and changed photos."),
    ),
    ReportCounter(
        "renditions_skipped", _("Web versions already there"), _("web version files"),
        _("Web versions already made for the same set from the same bytes; the photos were not decoded."),
    ),
    ReportCounter(
        "rendition_errors", _("Photos without web versions"), _FILES,
        _(
            "Photos imported, but their web versions could not be made (the file is damaged or too large); "
            "each is in the error list below, and the next run tries again."
        ),
    ),
    ReportCounter(
        "errors", _("Files with errors"), _FILES,
        _("Files that could not be imported or whose web versions failed; the list is below."),
    ),
)

# What else a session's report holds besides its type's counters: named on the session page.
RUN_ENTRIES = {
    counter.key: counter
    for counter in (
        ReportCounter("chunks_total", _("Chunks planned"), _("chunks"), _("Steps the run was split into (Prefect task runs).")),
        ReportCounter("chunks_done", _("Chunks done"), _("chunks"), _("Steps that finished and recorded their counts.")),
        ReportCounter("shards_total", _("Shards"), _("shard runs"), _("Flow runs the chunks were spread over (--shards).")),
        ReportCounter("dry_run", _("Dry run"), "", _("Yes: everything was checked and counted, nothing was written.")),
        ReportCounter(
            "unknown_offer_ids", _("Offers without goods (first ones)"), _("offers"),
            _("Offers whose goods are not in the catalog; import the catalog with them, then this import again."),
        ),
        ReportCounter(
            "error_details", _("Per-file errors (stored with the session)"), _("files"),
            _("Sessions older than the per-chunk error lists kept their errors in the report."),
        ),
    )
}

# What a session's run was asked (its parameters), named on the session page; the image
# options inside `options` are named as the import page names them (forms.ImportStartForm).
RUN_PARAMETERS = {
    "data_dir": _("Exchange directory"),
    "remove_absent": _("Remove what 1C no longer sends"),
    "chunk_size": _("Products per chunk"),
    "photo_id": _("Photo added on the site, #"),
}

_SERVICES = "apps.imports.services"


def _kind(kind: str, module: str, import_file: str, remove_absent: str) -> ExchangeKind:
    return ExchangeKind(kind, f"{_SERVICES}.{module}.{import_file}", f"{_SERVICES}.{module}.{remove_absent}")


# --- the types, in the order the import page lists them -------------------------------

IMPORT_TYPES: tuple[ImportTypeSpec, ...] = (
    ImportTypeSpec(
        key="catalog",
        label=_("Product catalog"),
        description=_("Creates and updates groups, goods and their variants from 1C: name, article, brand, pictures"),
        files=("groups/*.xml", "propertiesGoods/*.xml", "goods/*.xml", "offers/*.xml"),
        needs_catalog=False,
        flow="flows.catalog:import_catalog",
        flow_name="import-catalog",
        kinds=(
            _kind("groups", "catalog_import", "catalog_import_groups_file", "catalog_deactivate_absent_groups"),
            _kind("goods", "catalog_import", "catalog_import_goods_file", "catalog_deactivate_absent_goods"),
            _kind("offers", "catalog_import", "catalog_import_offers_file", "catalog_deactivate_absent_variants"),
        ),
        required_kind="goods",
        counters=(
            *_files_counters(),
            *_rows_counters("", _("Goods")),
            ReportCounter(
                "pictures_listed", _("Photos listed"), _("photos"),
                _("<Картинка> entries of the goods read: the photos the image import will look for."),
            ),
            *_rows_counters("groups_", _("Groups")),
            *_rows_counters("variants_", _("Variants")),
            _UNKNOWN_OFFERS,
            _RECORD_ERRORS,
        ),
        summary_counters=("created", "updated", "errors"),
    ),
    ImportTypeSpec(
        key="stocks",
        label=_("Stocks"),
        description=_("Updates warehouses and the goods' stocks per warehouse from 1C"),
        files=("storages/*.xml", "rests/*.xml"),
        needs_catalog=True,
        flow="flows.stocks:import_stocks",
        flow_name="import-stocks",
        kinds=(
            _kind("storages", "stocks_import", "stocks_import_warehouses_file", "stocks_deactivate_absent_warehouses"),
            _kind("rests", "stocks_import", "stocks_import_rests_file", "stocks_delete_absent"),
        ),
        required_kind="rests",
        counters=(
            *_files_counters(),
            _OFFERS,
            ReportCounter("stocks", _("Stock rows written"), _RECORDS, _("An offer's stock in a warehouse: one row.")),
            ReportCounter(
                "absent", _("Stock rows not in the full export"), _RECORDS,
                _("Only after a full export: rows 1C no longer sends (deleted)."),
            ),
            _UNKNOWN_OFFERS,
            ReportCounter(
                "unknown_warehouses", _("Rows with an unknown warehouse"), _RECORDS,
                _("The warehouse was not in storages/ and the site does not know it: the row was not written."),
            ),
            *_rows_counters("warehouses_", _("Warehouses"), deactivated=False),
            _RECORD_ERRORS,
        ),
        summary_counters=("stocks", "absent", "errors"),
    ),
    ImportTypeSpec(
        key="prices",
        label=_("Prices"),
        description=_("Updates price types and the goods' prices from 1C"),
        files=("priceLists/*.xml", "prices/*.xml"),
        needs_catalog=True,
        flow="flows.prices:import_prices",
        flow_name="import-prices",
        kinds=(
            _kind("priceLists", "prices_import", "prices_import_price_types_file", "prices_deactivate_absent_price_types"),
            _kind("prices", "prices_import", "prices_import_prices_file", "prices_delete_absent"),
        ),
        required_kind="prices",
        counters=(
            *_files_counters(),
            _OFFERS,
            ReportCounter("created", _("Prices created"), _RECORDS, _("New offer prices.")),
            ReportCounter("updated", _("Prices updated"), _RECORDS, _("Prices that existed and were overwritten.")),
            ReportCounter(
                "absent", _("Prices not in the full export"), _RECORDS,
                _("Only after a full export: prices 1C no longer sends (deleted)."),
            ),
            _UNKNOWN_OFFERS,
            ReportCounter(
                "unknown_price_types", _("Prices with an unknown price type"), _RECORDS,
                _("The price type was not in priceLists/ and the site does not know it: the price was not written."),
            ),
            *_rows_counters("price_types_", _("Price types"), deactivated=False),
            _RECORD_ERRORS,
        ),
        summary_counters=("created", "updated", "errors"),
    ),
    ImportTypeSpec(
        key="customers",
        label=_("Counterparties"),
        description=_("Creates and updates counterparties (customers) from 1C"),
        files=("contragents/*.xml",),
        needs_catalog=False,
        flow="flows.customers:import_customers",
        flow_name="import-customers",
        kinds=(
            _kind(
                "contragents", "customers_import", "customers_import_counterparties_file", "customers_deactivate_absent"
            ),
        ),
        required_kind="contragents",
        counters=(*_files_counters(), *_rows_counters("", _("Counterparties")), _RECORD_ERRORS),
        summary_counters=("created", "updated", "errors"),
    ),
    ImportTypeSpec(
        key="images",
        label=_("Product images"),
        description=_("Updates the products' main images and galleries from the 1C exchange directory"),
        files=("goods/import_files/XX/*.jpg, *.png",),
        needs_catalog=True,
        flow="flows.images:import_images",
        flow_name="import-images",
        counters=_IMAGE_COUNTERS,
        summary_counters=("copied", "skipped", "errors"),
        options=ImageImportOptions,
        error_unit="files",
    ),
)

# Readers look the types up when they need them (never a copy taken at import), so the
# registry is read in one way everywhere.


def import_type_specs() -> tuple[ImportTypeSpec, ...]:
    return IMPORT_TYPES


def import_type_spec(key: str) -> ImportTypeSpec:
    for spec in IMPORT_TYPES:
        if spec.key == key:
            return spec
    raise KeyError(f"unknown import type {key!r}; the types are: {', '.join(spec.key for spec in IMPORT_TYPES)}")


def exchange_kind_spec(kind: str) -> ExchangeKind:
    """The spec of an exchange kind (each kind belongs to one import type)."""
    return next(item for spec in IMPORT_TYPES for item in spec.kinds if item.kind == kind)


def import_type_choices() -> list[tuple[str, str]]:
    """(key, label) of every type: the session model's choices."""
    return [(spec.key, spec.label) for spec in IMPORT_TYPES]
