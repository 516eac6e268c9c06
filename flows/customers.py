"""The customers import flow: contragents (file by file) -> remove-absent (full exchanges only)
-> summarize-import, mirrored into an ImportSession."""
from __future__ import annotations

from flows.common import SESSION_HOOKS
from flows.exchange import begin_session, run_exchange_import

from prefect import flow  # noqa: E402

from apps.integrations.models import ImportSession  # noqa: E402


@flow(name="import-customers", **SESSION_HOOKS)
def import_customers(session_id: int | None = None, data_dir: str | None = None) -> dict:
    """Import counterparties (contragents/) from the 1C exchange."""
    import_type = ImportSession.ImportType.CUSTOMERS
    session_id, data_dir, sync_mark = begin_session(import_type=import_type, session_id=session_id, data_dir=data_dir)
    return run_exchange_import(import_type=import_type, session_id=session_id, data_dir=data_dir, sync_mark=sync_mark)
