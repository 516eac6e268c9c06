"""Cancelling an import: ask Prefect to stop its flow run, then end the session `cancelled`.

What was imported stays consistent: a chunk writes its products' images in one bulk update
after its files are in place, so a stopped chunk leaves its products as they were (the
files it already copied are found up to date by the next run), and the session's counters
are sums over the chunks that finished.
"""
from __future__ import annotations

import logging
import uuid

import httpx

from ..exceptions import ImportNotActiveError, PrefectUnavailableError
from ..models import ImportSession
from .prefect_runs import prefect_client
from .sessions import import_session_settle

logger = logging.getLogger(__name__)


def import_run_cancel(*, session_id: int, cancelled_by: str) -> ImportSession:
    """Cancel an active session's flow run in Prefect and end the session `cancelled`.

    Raises ImportNotActiveError if the session already ended, PrefectUnavailableError if
    Prefect could not be told (the session then stays active: its run may still be going).
    """
    session = ImportSession.objects.get(pk=session_id)
    if not session.is_active:
        raise ImportNotActiveError(
            f"import session #{session.pk} is already {session.get_status_display()} ({session.status}); "
            "only pending or running imports can be cancelled"
        )
    reason = f"cancelled by {cancelled_by}"
    if session.flow_run_id:
        reason += _flow_run_cancel(flow_run_id=session.flow_run_id, reason=reason)
    settled = import_session_settle(session_id=session.pk, status=ImportSession.Status.CANCELLED, error_message=reason)
    if settled is None:  # it ended on its own in the meantime; report what it became
        session.refresh_from_db()
        return session
    return settled


def _flow_run_cancel(*, flow_run_id: uuid.UUID, reason: str) -> str:
    """Move the flow run to Cancelling (a worker then stops its process; a run that never
    started goes straight to Cancelled). Returns a note for the session's message."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import get_current_settings
    from prefect.states import State

    api_url = get_current_settings().api.url
    if not api_url:
        # Runs on Prefect's embedded server live in the process that started them
        # (`import_1c` in a terminal); this process cannot reach them.
        return (
            "; PREFECT_API_URL is not set, so the flow run itself was not asked to stop: "
            "if `import_1c` is still running in a terminal, stop it with Ctrl-C"
        )
    try:
        with prefect_client() as client:
            flow_run = client.read_flow_run(flow_run_id)
            if flow_run.state and flow_run.state.is_final():
                return f"; its flow run had already ended ({flow_run.state.name})"
            result = client.set_flow_run_state(
                flow_run_id=flow_run_id, state=State(type=StateType.CANCELLING, message=reason)
            )
            # A sharded image import's shards are subflow runs on other workers: stop them too.
            for subflow_run in client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
            ):
                if subflow_run.state and not subflow_run.state.is_final():
                    client.set_flow_run_state(
                        flow_run_id=subflow_run.id, state=State(type=StateType.CANCELLING, message=reason)
                    )
    except ObjectNotFound:
        logger.warning("flow run %s is not known to Prefect at %s", flow_run_id, api_url)
        return f"; Prefect at {api_url} does not know its flow run {flow_run_id}"
    except httpx.HTTPError as exc:
        raise PrefectUnavailableError(
            f"could not reach Prefect at {api_url} to cancel flow run {flow_run_id} ({exc}); "
            "check that the Prefect server is running and PREFECT_API_URL is right, then cancel again"
        ) from exc
    if result.status == SetStateStatus.ABORT:
        raise PrefectUnavailableError(
            f"Prefect refused to cancel flow run {flow_run_id}: {result.details.reason}"
        )
    logger.info("flow run %s -> %s", flow_run_id, result.state.name if result.state else "cancelling")
    return ""
