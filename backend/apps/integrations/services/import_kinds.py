"""Which exchange kinds each import type reads, in which order, and the one service that
imports a file of each kind: the single table the flows, the CLI and the admin share."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..commerceml import EXCHANGE_KINDS, exchange_files
from ..exceptions import ExchangeDirectoryError
from .catalog_import import (
    catalog_deactivate_absent_goods,
    catalog_deactivate_absent_groups,
    catalog_deactivate_absent_variants,
    catalog_import_goods_file,
    catalog_import_groups_file,
    catalog_import_offers_file,
)
from .customers_import import customers_deactivate_absent, customers_import_counterparties_file
from .exchange import FileImportResult
from .prices_import import (
    prices_deactivate_absent_price_types,
    prices_delete_absent,
    prices_import_price_types_file,
    prices_import_prices_file,
)
from .stocks_import import (
    stocks_deactivate_absent_warehouses,
    stocks_delete_absent,
    stocks_import_rests_file,
    stocks_import_warehouses_file,
)


@dataclass(frozen=True)
class KindImporter:
    """`import_file(path=, sync_mark=, **context)` writes one file's records;
    `remove_absent(sync_mark=)` runs after a full exchange of the kind."""

    import_file: Callable[..., FileImportResult]
    remove_absent: Callable[..., dict]


KIND_IMPORTERS: dict[str, KindImporter] = {
    "groups": KindImporter(catalog_import_groups_file, catalog_deactivate_absent_groups),
    "goods": KindImporter(catalog_import_goods_file, catalog_deactivate_absent_goods),
    "offers": KindImporter(catalog_import_offers_file, catalog_deactivate_absent_variants),
    "priceLists": KindImporter(prices_import_price_types_file, prices_deactivate_absent_price_types),
    "prices": KindImporter(prices_import_prices_file, prices_delete_absent),
    "storages": KindImporter(stocks_import_warehouses_file, stocks_deactivate_absent_warehouses),
    "rests": KindImporter(stocks_import_rests_file, stocks_delete_absent),
    "contragents": KindImporter(customers_import_counterparties_file, customers_deactivate_absent),
}


@dataclass(frozen=True)
class ImportPlan:
    """An import type: its kinds in import order, the kind it cannot do without, whether
    it needs products in the database, and the counters its report always shows."""

    kinds: tuple[str, ...]
    required_kind: str
    needs_catalog: bool
    counters: tuple[str, ...]


IMPORT_PLANS: dict[str, ImportPlan] = {
    "catalog": ImportPlan(
        kinds=("groups", "goods", "offers"),
        required_kind="goods",
        needs_catalog=False,
        counters=(
            "created", "updated", "deactivated", "absent",
            "groups_created", "groups_updated", "groups_deactivated", "groups_absent",
            "variants_created", "variants_updated", "variants_deactivated", "variants_absent",
            "unknown_offers",
        ),
    ),
    "prices": ImportPlan(
        kinds=("priceLists", "prices"),
        required_kind="prices",
        needs_catalog=True,
        counters=(
            "offers", "created", "updated", "absent", "unknown_offers", "unknown_price_types",
            "price_types_created", "price_types_updated", "price_types_absent",
        ),
    ),
    "stocks": ImportPlan(
        kinds=("storages", "rests"),
        required_kind="rests",
        needs_catalog=True,
        counters=(
            "offers", "stocks", "absent", "unknown_offers", "unknown_warehouses",
            "warehouses_created", "warehouses_updated", "warehouses_absent",
        ),
    ),
    "customers": ImportPlan(
        kinds=("contragents",),
        required_kind="contragents",
        needs_catalog=False,
        counters=("created", "updated", "deactivated", "absent"),
    ),
}


def _expected_files(kind: str, data_dir: Path) -> str:
    folder, prefixes = EXCHANGE_KINDS[kind]
    legacy = " or ".join(f"{data_dir}/{prefix}*.xml" for prefix in prefixes)
    return f"{data_dir / folder}/*.xml (CommerceML 3) or {legacy} (CommerceML 2)"


def exchange_plan_files(*, import_type: str, data_dir: Path) -> tuple[dict[str, list[str]], str]:
    """The files of each kind the import type reads, and a note when the exchange has
    none of its required kind (1C did not send that kind this time: nothing to do).
    A directory with no exchange files at all is refused: it is the wrong directory."""
    plan = IMPORT_PLANS[import_type]
    files = {kind: [str(path) for path in exchange_files(data_dir, kind)] for kind in plan.kinds}
    if files[plan.required_kind]:
        return files, ""
    if not any(exchange_files(data_dir, kind) for kind in EXCHANGE_KINDS):
        raise ExchangeDirectoryError(
            f"no {plan.required_kind} files in {data_dir}: expected {_expected_files(plan.required_kind, data_dir)}; "
            "check ONEC_DATA_DIR / --data-dir and that 1C finished the exchange"
        )
    return files, (
        f"the exchange in {data_dir} has no {plan.required_kind} files "
        f"({_expected_files(plan.required_kind, data_dir)}): 1C sent none this time, nothing was imported"
    )


def exchange_import_file(*, kind: str, path: Path, sync_mark: datetime, context: dict | None = None) -> dict:
    return KIND_IMPORTERS[kind].import_file(path=path, sync_mark=sync_mark, **(context or {})).as_dict()


def exchange_remove_absent(*, kind: str, sync_mark: datetime) -> dict:
    return KIND_IMPORTERS[kind].remove_absent(sync_mark=sync_mark)
