"""The catalog import flow: start-session -> find-exchange-files -> read-brands -> groups,
goods, offers (file by file) -> remove-absent (full exchanges only) -> summarize, mirrored
into an ImportSession."""
from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext
from prefect import flow, get_run_logger, task

from commerceml.layout import exchange_files
from commerceml.reader import read_brand_dictionary
from flows.common import IMPORT_FLOW_OPTIONS
from flows.exchange import run_exchange_import


@task(name="read-brands")
def read_brands(data_dir: str) -> dict:
    """Which goods property is the brand, and its names (propertiesGoods/, or 2.x import.xml)."""
    brands = read_brand_dictionary(exchange_files(Path(data_dir).resolve(), "propertiesGoods"))
    get_run_logger().info("%s", gettext("brand properties — %(properties)s, brand names — %(names)s") % {
        "properties": len(brands.property_ids), "names": len(brands.names),
    })
    return brands.as_dict()


@flow(name="import-catalog", **IMPORT_FLOW_OPTIONS)
def import_catalog(session_id: int | None = None, data_dir: str | None = None, remove_absent: bool = True) -> dict:
    """Create and update groups, products and their variants from the 1C exchange."""
    return run_exchange_import(
        import_type="catalog",
        session_id=session_id,
        data_dir=data_dir,
        remove_absent=remove_absent,
        contexts=lambda data_dir: {"goods": {"brands": read_brands(data_dir)}},
    )
