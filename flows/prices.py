"""The prices import flow: priceLists, prices (file by file) -> remove-absent (full exchanges only)
-> summarize, mirrored into an ImportSession."""
from __future__ import annotations

from prefect import flow

from flows.common import IMPORT_FLOW_OPTIONS
from flows.exchange import run_exchange_import


@flow(name="import-prices", **IMPORT_FLOW_OPTIONS)
def import_prices(session_id: int | None = None, data_dir: str | None = None, remove_absent: bool = True) -> dict:
    """Import prices per offer and price type (priceLists/ + prices/) from the 1C exchange."""
    return run_exchange_import(import_type="prices", session_id=session_id, data_dir=data_dir, remove_absent=remove_absent)
