"""The customers import flow: contragents (file by file) -> remove-absent (full exchanges only)
-> summarize, mirrored into an ImportSession."""
from __future__ import annotations

from prefect import flow

from flows.common import IMPORT_FLOW_OPTIONS
from flows.exchange import run_exchange_import


@flow(name="import-customers", **IMPORT_FLOW_OPTIONS)
def import_customers(session_id: int | None = None, data_dir: str | None = None, remove_absent: bool = True) -> dict:
    """Import counterparties (contragents/) from the 1C exchange."""
    return run_exchange_import(import_type="customers", session_id=session_id, data_dir=data_dir, remove_absent=remove_absent)
