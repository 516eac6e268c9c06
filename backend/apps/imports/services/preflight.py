"""The rules an import checks before it starts, shared by the flows and the admin page."""
from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message
from apps.products.selectors import product_active_count

from ..exceptions import RUN_WIDE_ERRORS, CatalogEmptyError, ExchangeDirectoryError
from ..import_types import import_type_spec
from .exchange_plan import exchange_plan_files


def catalog_require_products(*, then: str) -> int:
    """The number of active products; refuse without any (images, prices, stocks need them)."""
    count = product_active_count()
    if not count:
        raise CatalogEmptyError(Message(
            gettext_noop(
                "no active products in the database: run the catalog import first "
                "(python backend/manage.py import_1c catalog), then import %(then)s "
                "(in the admin: “Product catalog” on the 1C import page)"
            ),
            then=then,
        ))
    return count


def exchange_images_dir(*, data_dir: Path) -> Path:
    """The absolute goods/import_files directory; refuse if it is missing or unreadable."""
    images_dir = (Path(data_dir) / "goods" / "import_files").resolve()
    if not images_dir.is_dir():
        raise ExchangeDirectoryError(Message(
            gettext_noop(
                "image directory %(dir)s does not exist: check ONEC_DATA_DIR / --data-dir "
                "and that 1C finished the exchange (it writes goods/import_files/XX/)"
            ),
            dir=str(images_dir),
        ))
    try:
        next(iter(images_dir.iterdir()), None)
    except PermissionError:
        raise ExchangeDirectoryError(Message(
            gettext_noop("image directory %(dir)s is not readable by this process: fix its permissions"),
            dir=str(images_dir),
        )) from None
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
