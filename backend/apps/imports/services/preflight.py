"""The rules an import checks before it starts, shared by the flows and the admin page."""
from __future__ import annotations

from pathlib import Path

from apps.products.selectors import product_active_count

from ..exceptions import RUN_WIDE_ERRORS, CatalogEmptyError, ExchangeDirectoryError
from ..import_types import import_type_spec
from .exchange_plan import exchange_plan_files


def catalog_require_products(*, then: str) -> int:
    """The number of active products; refuse without any (images, prices, stocks need them)."""
    count = product_active_count()
    if not count:
        raise CatalogEmptyError(
            "no active products in the database: run the catalog import first "
            f"(python backend/manage.py import_1c catalog), then import {then} "
            "(in the admin: «Каталог товаров» on the 1C import page)"
        )
    return count


def exchange_images_dir(*, data_dir: Path) -> Path:
    """The absolute goods/import_files directory; refuse if it is missing or unreadable."""
    images_dir = (Path(data_dir) / "goods" / "import_files").resolve()
    if not images_dir.is_dir():
        raise ExchangeDirectoryError(
            f"image directory {images_dir} does not exist: check ONEC_DATA_DIR / --data-dir "
            "and that 1C finished the exchange (it writes goods/import_files/XX/)"
        )
    try:
        next(iter(images_dir.iterdir()), None)
    except PermissionError:
        raise ExchangeDirectoryError(
            f"image directory {images_dir} is not readable by this process: fix its permissions"
        ) from None
    return images_dir


def import_preflight_problems(*, import_type: str, data_dir: Path) -> list[Exception]:
    """Every reason this import would fail at once, checked the way its flow checks them."""
    spec = import_type_spec(import_type)
    checks = []
    if spec.needs_catalog:
        checks.append(lambda: catalog_require_products(then=import_type))
    if spec.kinds:
        checks.append(lambda: exchange_plan_files(import_type=import_type, data_dir=Path(data_dir).resolve()))
    else:
        checks.append(lambda: exchange_images_dir(data_dir=data_dir))
    problems = []
    for check in checks:
        try:
            check()
        except RUN_WIDE_ERRORS as exc:
            problems.append(exc)
    return problems
