"""Links from the admin into Prefect's UI."""
from __future__ import annotations

import uuid


def prefect_ui_url() -> str | None:
    """Prefect's UI root: PREFECT_UI_URL, else derived from PREFECT_API_URL (Prefect's own
    rule: drop the trailing /api); None on the embedded server, which has no UI to link to."""
    from prefect.settings import get_current_settings

    url = get_current_settings().ui_url
    return url.rstrip("/") if url else None


def flow_run_ui_url(flow_run_id: uuid.UUID | str | None) -> str | None:
    """The flow run's page in Prefect's UI, or None when there is no run or no UI."""
    ui_url = prefect_ui_url()
    if not flow_run_id or not ui_url:
        return None
    return f"{ui_url}/runs/flow-run/{flow_run_id}"
