"""What every import flow shares: Django bootstrap, retry policy, session-settling hooks."""
from __future__ import annotations

import functools
import logging
import time
import uuid

from flows.django_setup import setup_django

setup_django()

from django.db import InterfaceError, OperationalError, connections, reset_queries  # noqa: E402

from prefect.runtime import flow_run as current_flow_run  # noqa: E402

from apps.integrations.exceptions import ImportAlreadyRunningError, ImportRefusedError, ImportRunError  # noqa: E402
from apps.integrations.models import ImportSession  # noqa: E402
from apps.integrations.services.sessions import (  # noqa: E402
    import_session_create,
    import_session_refuse,
    import_session_settle,
    import_session_start,
)

logger = logging.getLogger(__name__)

# Faults worth another try: a dropped database connection, a flapping file system.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)
RETRY_DELAYS_SECONDS = [2, 10, 30]


def retry_on_transient_errors(task, task_run, state) -> bool:
    """Retry I/O and lost-connection faults; never bad input (ImportRunError)."""
    exc = state.data if isinstance(state.data, BaseException) else None
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, ImportRunError)


def closes_db_connections(fn):
    """Task threads each open their own connection; close it when the task ends, and drop
    its DEBUG query log (kept per thread, it would grow with the number of chunks)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            reset_queries()
            connections.close_all()

    return wrapper


def session_for_this_run(*, session_id: int | None, import_type: str, parameters: dict) -> ImportSession:
    """Start the session this flow run reports into and return it.

    Admin and CLI runs bring a pending session; a scheduled run (no session id) creates its
    own, or, while another import holds the slot, records a refused session saying why and
    fails the run with that reason.
    """
    if session_id is None:
        try:
            session_id = import_session_create(
                import_type=import_type, started_by=ImportSession.StartedBy.SCHEDULE, parameters=parameters
            ).id
        except ImportAlreadyRunningError as exc:
            reason = f"scheduled run skipped: {exc}; the next scheduled run will try again"
            import_session_refuse(
                import_type=import_type,
                started_by=ImportSession.StartedBy.SCHEDULE,
                parameters=parameters,
                reason=reason,
                flow_run_id=current_flow_run.id,
            )
            raise ImportRefusedError(reason) from None
    return import_session_start(session_id=session_id, flow_run_id=current_flow_run.id)


def _session_id(flow_run) -> int | None:
    session_id = (flow_run.parameters or {}).get("session_id")
    if session_id:
        return int(session_id)
    return ImportSession.objects.filter(flow_run_id=flow_run.id).values_list("id", flat=True).first()


def _failure_reason(state) -> str:
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # the result may be unavailable (crash, other process)
        exc = None
    if isinstance(exc, ImportRunError):
        return str(exc)
    if isinstance(exc, BaseException):
        return f"unexpected error: {type(exc).__name__}: {exc}; see the flow run's logs in Prefect"
    return state.message or "the flow run failed; see its logs in Prefect"


def _settle(flow_run, status: str, reason: str) -> None:
    connections.close_all()  # the failure may have been a lost database connection
    try:
        session_id = _session_id(flow_run)
        if session_id:
            import_session_settle(session_id=session_id, status=status, error_message=reason)
    finally:
        connections.close_all()


def settle_session_on_failure(flow, flow_run, state) -> None:
    _settle(flow_run, ImportSession.Status.FAILED, _failure_reason(state))


def settle_session_on_crash(flow, flow_run, state) -> None:
    _settle(flow_run, ImportSession.Status.FAILED, f"the flow run crashed: {state.message or 'no details'}")


def settle_session_on_cancellation(flow, flow_run, state) -> None:
    _settle(flow_run, ImportSession.Status.CANCELLED, state.message or "the flow run was cancelled")


SESSION_HOOKS = {
    "on_failure": [settle_session_on_failure],
    "on_crashed": [settle_session_on_crash],
    "on_cancellation": [settle_session_on_cancellation],
}


def wait_for_task_run_records(flow_run_id: uuid.UUID, *, timeout: float = 15.0, poll: float = 0.1) -> bool:
    """Let Prefect's embedded server record the run's last task-run events before it stops.

    The server stops when the run ends; stopping it while its task-run recorder writes logs
    CancelledError tracebacks and loses those records. So: send this process' pending
    events, then wait until every recorded task run of the flow run is final and their
    number holds still across two polls. False on timeout (the run itself is unaffected).
    """
    from prefect.client.orchestration import get_client
    from prefect.events.worker import EventsWorker

    flow_runs = {"id": {"any_": [str(flow_run_id)]}}
    not_final = {"state": {"type": {"any_": ["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"]}}}
    deadline = time.monotonic() + timeout
    previous = None
    try:
        EventsWorker.drain_all(timeout=timeout)
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                total = client.request("POST", "/task_runs/count", json={"flow_runs": flow_runs}).json()
                pending = client.request(
                    "POST", "/task_runs/count", json={"flow_runs": flow_runs, "task_runs": not_final}
                ).json()
                if pending == 0 and total == previous:
                    return True
                previous = total if pending == 0 else None
                time.sleep(poll)
    except Exception as exc:  # the import's outcome is already recorded; this is housekeeping
        logger.warning("could not check Prefect's task-run records of flow run %s: %s", flow_run_id, exc)
        return False
    logger.warning("Prefect had not recorded every task run of flow run %s after %.0f s", flow_run_id, timeout)
    return False
