"""The flow module of a sixth import type, written as an engineer adding one would write it
(tests/flows/test_adding_an_import_type.py registers its spec)."""
from prefect import flow

from flows.common import IMPORT_FLOW_OPTIONS
from flows.exchange import run_exchange_import


@flow(name="import-warehouses", **IMPORT_FLOW_OPTIONS)
def import_warehouses(session_id: int | None = None, data_dir: str | None = None) -> dict:
    """Import warehouses (storages/) from the 1C exchange."""
    return run_exchange_import(import_type="warehouses", session_id=session_id, data_dir=data_dir)
