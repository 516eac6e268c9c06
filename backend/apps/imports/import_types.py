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
from django.utils.translation import gettext_lazy

from .options import ImageImportOptions


@dataclass(frozen=True)
class ReportCounter:
    """A number in a session's report: its key, how the admin names it, what it counts."""

    key: str
    label: str
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

_FILES = "файлы"
_RECORDS = "записи"


def _files_counters() -> tuple[ReportCounter, ...]:
    return (
        ReportCounter("total_files", "Файлов обмена", _FILES, "XML-файлы обмена, которые читает этот импорт."),
        ReportCounter("processed", "Файлов обработано", _FILES, "Файлы обмена, которые уже прочитаны."),
    )


def _rows_counters(prefix: str, label: str, *, deactivated: bool = True) -> tuple[ReportCounter, ...]:
    counters = (
        ReportCounter(f"{prefix}created", f"{label}: создано", _RECORDS, "Новые записи из 1С."),
        ReportCounter(f"{prefix}updated", f"{label}: обновлено", _RECORDS, "Записи, которые уже были и перезаписаны."),
    )
    if deactivated:
        counters += (
            ReportCounter(
                f"{prefix}deactivated", f"{label}: помечено на удаление", _RECORDS,
                "Пришли из 1С с пометкой удаления: сняты с публикации, не удалены.",
            ),
        )
    return counters + (
        ReportCounter(
            f"{prefix}absent", f"{label}: нет в полной выгрузке", _RECORDS,
            "Только после полной выгрузки: записи, которых 1С больше не присылает (деактивированы или удалены).",
        ),
    )


_UNKNOWN_OFFERS = ReportCounter(
    "unknown_offers", "Предложений без товара в каталоге", _RECORDS,
    "Предложения, чьих товаров нет в каталоге: не импортированы; список — в отчёте (unknown_offer_ids).",
)
_OFFERS = ReportCounter("offers", "Предложений импортировано", _RECORDS, "Предложения (товары и характеристики) из файлов.")
_RECORD_ERRORS = ReportCounter(
    "errors", "Записей с ошибками", _RECORDS, "Записи обмена, которые не удалось прочитать или записать; список ниже."
)

_IMAGE_COUNTERS = (
    ReportCounter("total_products", "Товаров всего", "товары", "Активные товары каталога на начало импорта."),
    ReportCounter("processed", "Товаров обработано", "товары", "Товары, чьи изображения уже просмотрены."),
    ReportCounter(
        "products_without_images", "Товаров без изображений", "товары",
        "Товары без <Картинка> в 1С и без файлов в import_files: им нечего импортировать.",
    ),
    ReportCounter(
        "main_images_set", "Товаров с новым основным изображением", "товары",
        "Товары, у которых основное изображение появилось или сменилось.",
    ),
    ReportCounter("gallery_added", "Добавлено в галереи", "записи галереи", "Изображения, добавленные в галереи товаров."),
    ReportCounter(
        "removed", "Убрано из галерей", "записи галереи",
        "Только в режиме mirror: изображения, которых больше нет в списке <Картинка> товара в 1С.",
    ),
    ReportCounter("copied", "Файлов скопировано", _FILES, "Файлы изображений, скопированные в media (включая заменённые)."),
    ReportCounter("replaced", "из них заменено", _FILES, "Файлы, изменённые в 1С и поэтому заменённые в media."),
    ReportCounter(
        "restored", "из них восстановлено", _FILES,
        "Только с проверкой хранилища: файлы, которых в хранилище не оказалось (или другого размера); загружены заново.",
    ),
    ReportCounter(
        "skipped", "Файлов пропущено: уже актуальны", _FILES,
        "Файлы, которые уже есть в media (тот же размер и время изменения или то же содержимое); не копировались.",
    ),
    ReportCounter(
        "renditions_created", "Веб-версий сделано", "файлы веб-версий",
        "WebP/JPEG для витрины (ONEC_IMAGE_RENDITIONS), сделанные для новых и изменённых фото.",
    ),
    ReportCounter(
        "renditions_skipped", "Веб-версий уже было", "файлы веб-версий",
        "Веб-версии, уже сделанные по тому же набору для тех же байтов; фото не декодировались.",
    ),
    ReportCounter(
        "rendition_errors", "Фото без веб-версий", _FILES,
        "Фото импортированы, но веб-версии из них сделать не удалось (файл повреждён, слишком велик); "
        "каждое — в списке ошибок ниже, следующий запуск попробует снова.",
    ),
    ReportCounter(
        "errors", "Файлов с ошибками", _FILES,
        "Файлы, которые не удалось импортировать или из которых не получились веб-версии; список ниже.",
    ),
)

_SERVICES = "apps.imports.services"


def _kind(kind: str, module: str, import_file: str, remove_absent: str) -> ExchangeKind:
    return ExchangeKind(kind, f"{_SERVICES}.{module}.{import_file}", f"{_SERVICES}.{module}.{remove_absent}")


# --- the types, in the order the import page lists them -------------------------------

IMPORT_TYPES: tuple[ImportTypeSpec, ...] = (
    ImportTypeSpec(
        key="catalog",
        label="Каталог товаров",
        description=(
            "Создание и обновление групп, товаров и их характеристик из 1С: наименование, артикул, бренд, картинки"
        ),
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
            *_rows_counters("", "Товары"),
            ReportCounter(
                "pictures_listed", gettext_lazy("Photos listed"), gettext_lazy("photos"),
                gettext_lazy("<Картинка> entries of the goods read: the photos the image import will look for."),
            ),
            *_rows_counters("groups_", "Группы"),
            *_rows_counters("variants_", "Характеристики"),
            _UNKNOWN_OFFERS,
            _RECORD_ERRORS,
        ),
        summary_counters=("created", "updated", "errors"),
    ),
    ImportTypeSpec(
        key="stocks",
        label="Остатки",
        description="Обновление складов и остатков товаров по складам из 1С",
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
            ReportCounter("stocks", "Строк остатков записано", _RECORDS, "Остаток предложения на складе: одна строка."),
            ReportCounter(
                "absent", "Строк остатков нет в полной выгрузке", _RECORDS,
                "Только после полной выгрузки: строки, которых 1С больше не присылает (удалены).",
            ),
            _UNKNOWN_OFFERS,
            ReportCounter(
                "unknown_warehouses", "Строк с неизвестным складом", _RECORDS,
                "Склад не пришёл в storages/ и не известен сайту: строка не записана.",
            ),
            *_rows_counters("warehouses_", "Склады", deactivated=False),
            _RECORD_ERRORS,
        ),
        summary_counters=("stocks", "absent", "errors"),
    ),
    ImportTypeSpec(
        key="prices",
        label="Цены",
        description="Обновление типов цен и цен товаров из 1С",
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
            ReportCounter("created", "Цен создано", _RECORDS, "Новые цены предложений."),
            ReportCounter("updated", "Цен обновлено", _RECORDS, "Цены, которые уже были и перезаписаны."),
            ReportCounter(
                "absent", "Цен нет в полной выгрузке", _RECORDS,
                "Только после полной выгрузки: цены, которых 1С больше не присылает (удалены).",
            ),
            _UNKNOWN_OFFERS,
            ReportCounter(
                "unknown_price_types", "Цен с неизвестным типом цены", _RECORDS,
                "Тип цены не пришёл в priceLists/ и не известен сайту: цена не записана.",
            ),
            *_rows_counters("price_types_", "Типы цен", deactivated=False),
            _RECORD_ERRORS,
        ),
        summary_counters=("created", "updated", "errors"),
    ),
    ImportTypeSpec(
        key="customers",
        label="Контрагенты",
        description="Создание и обновление контрагентов (покупателей) из 1С",
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
        counters=(*_files_counters(), *_rows_counters("", "Контрагенты"), _RECORD_ERRORS),
        summary_counters=("created", "updated", "errors"),
    ),
    ImportTypeSpec(
        key="images",
        label="Изображения товаров",
        description="Обновление изображений товаров из директории 1С (main_image и gallery_images)",
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
