"""The catalog import flow: read-brands -> groups, goods, offers (file by file) ->
remove-absent (full exchanges only) -> summarize-import, mirrored into an ImportSession."""
from __future__ import annotations

from pathlib import Path

from flows.common import SESSION_HOOKS
from flows.exchange import begin_session, run_exchange_import

from prefect import flow, get_run_logger, task  # noqa: E402

from apps.integrations.commerceml import exchange_files, read_brand_dictionary  # noqa: E402
from apps.integrations.models import ImportSession  # noqa: E402


@task(name="read-brands")
def read_brands(data_dir: str) -> dict:
    """Which goods property is the brand, and its names (propertiesGoods/, or 2.x import.xml)."""
    brands = read_brand_dictionary(exchange_files(Path(data_dir).resolve(), "propertiesGoods"))
    get_run_logger().info("%d brand properties, %d brand names", len(brands.property_ids), len(brands.names))
    return brands.as_dict()


@flow(name="import-catalog", **SESSION_HOOKS)
def import_catalog(session_id: int | None = None, data_dir: str | None = None) -> dict:
    """Create and update groups, products and their variants from the 1C exchange."""
    import_type = ImportSession.ImportType.CATALOG
    session_id, data_dir, sync_mark = begin_session(import_type=import_type, session_id=session_id, data_dir=data_dir)
    brands = read_brands(data_dir)
    return run_exchange_import(
        import_type=import_type, session_id=session_id, data_dir=data_dir, sync_mark=sync_mark,
        contexts={"goods": {"brands": brands}},
    )
