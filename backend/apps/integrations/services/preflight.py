"""The rules an import checks before it starts, shared by the flows and the admin page."""
from __future__ import annotations

from pathlib import Path

from apps.products.selectors import product_active_count

from ..commerceml import goods_files
from ..exceptions import CatalogEmptyError, ExchangeDirectoryError, ImportRunError
from ..import_types import IMPORT_TYPES_BY_VALUE
from ..models import ImportSession


def catalog_require_products() -> int:
    """The number of active products; refuse without any (images etc. need the catalog)."""
    count = product_active_count()
    if not count:
        raise CatalogEmptyError(
            "no active products in the database: run the catalog import first "
            "(«Каталог товаров» on the admin's 1C import page, or python backend/manage.py import_1c catalog)"
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


def exchange_goods_files(*, data_dir: Path) -> list[Path]:
    """The exchange's goods files in import order; refuse if there are none."""
    root = Path(data_dir).resolve()
    files = goods_files(root)
    if not files:
        raise ExchangeDirectoryError(
            f"no goods files in {root}: expected {root / 'goods'}/*.xml (CommerceML 3) or "
            f"{root}/import.xml (CommerceML 2); check ONEC_DATA_DIR / --data-dir"
        )
    return files


def import_preflight_problems(*, import_type: str, data_dir: Path) -> list[ImportRunError]:
    """Every reason this import would fail at once, checked the way its flow checks them."""
    checks = []
    if IMPORT_TYPES_BY_VALUE[import_type].requires_catalog:
        checks.append(catalog_require_products)
    if import_type == ImportSession.ImportType.IMAGES:
        checks.append(lambda: exchange_images_dir(data_dir=data_dir))
    if import_type == ImportSession.ImportType.CATALOG:
        checks.append(lambda: exchange_goods_files(data_dir=data_dir))
    problems = []
    for check in checks:
        try:
            check()
        except ImportRunError as exc:
            problems.append(exc)
    return problems
