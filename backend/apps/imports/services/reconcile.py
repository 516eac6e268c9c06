"""Settle sessions whose Prefect run ended without telling us.

A run that Prefect cancels before our code runs, a worker that dies, a run cancelled in
the Prefect UI: none of them reaches the flow's hooks, so the session would stay
pending/in progress and block every new import. The flow run's state in the Prefect API is
the truth; this reads it and settles the session to match.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from apps.i18n.messages import Message, error_message, message_text

from ..exceptions import PrefectUnavailableError
from ..models import ImportSession
from ..prefect_api.runs import prefect_flow_run_read
from .sessions import import_session_settle, import_session_settle_if_runner_died

logger = logging.getLogger(__name__)

# Sessions whose runs live on the deployments' Prefect server. CLI runs may use an embedded
# server this process cannot see: they are settled when their process is gone.
RECONCILED_STARTERS = (ImportSession.StartedBy.ADMIN, ImportSession.StartedBy.SCHEDULE, ImportSession.StartedBy.EXCHANGE)
# How long a launch may take between creating its session and attaching the flow run.
LAUNCH_GRACE = timedelta(minutes=2)
# How a run ended, by its final state's type, in the admin's words (Prefect's state names,
# "Crashed" and the like, are English and may be custom, e.g. "TimedOut" for a failure).
RUN_ENDED = {
    "COMPLETED": gettext_noop("completed"),
    "FAILED": gettext_noop("with a failure"),
    "CRASHED": gettext_noop("crashed"),
    "CANCELLED": gettext_noop("cancelled"),
}


def import_sessions_reconcile() -> list[ImportSession]:
    """Settle every active admin/scheduled/exchange session whose flow run has ended or is gone.

    Returns the sessions it settled. Safe to call on every page load: without an active
    session it does not touch Prefect, and when Prefect is unreachable it settles nothing.
    """
    settled = []
    for session in ImportSession.objects.filter(running_slot=True):
        if import_session_settle_if_runner_died(session=session):
            settled.append(session)
    active = ImportSession.objects.filter(running_slot=True, started_by__in=RECONCILED_STARTERS)
    for session in active:
        try:
            outcome = _outcome_in_prefect(session)
        except PrefectUnavailableError as exc:
            logger.warning("%s", gettext("cannot check import session #%(session)s against Prefect: %(error)s")
                           % {"session": session.pk, "error": message_text(error_message(exc))})
            continue
        if outcome is None:
            continue
        status, reason = outcome
        if result := import_session_settle(session_id=session.pk, status=status, error_message=reason):
            settled.append(result)
    return settled


def _outcome_in_prefect(session: ImportSession) -> tuple[str, Message] | None:
    """(status, reason) the session must end with, or None while its run may still work."""
    Status = ImportSession.Status
    if session.flow_run_id is None:
        if session.created_at < timezone.now() - LAUNCH_GRACE:
            return Status.FAILED, Message(gettext_noop(
                "no Prefect flow run was ever attached to this session (the starting request "
                "died); start the import again"
            ))
        return None
    run = prefect_flow_run_read(flow_run_id=session.flow_run_id)
    if run is None:
        return Status.FAILED, Message(
            gettext_noop(
                "Prefect has no flow run %(id)s (deleted, or another Prefect server); start the import again"
            ),
            id=str(session.flow_run_id),
        )
    state = run.state
    if state is None or not state.is_final():
        return None
    detail = Message(
        gettext_noop("Prefect flow run %(name)s ended %(state)s%(message)s"),
        name=repr(run.name), state=Message(RUN_ENDED[state.type.value]),
        message=f": {state.message}" if state.message else "",
    )
    if state.is_cancelled():
        return Status.CANCELLED, detail
    if state.is_completed():
        return Status.FAILED, Message(
            gettext_noop("%(detail)s, but the import never recorded its result; see the run's logs"), detail=detail
        )
    return Status.FAILED, Message(gettext_noop("%(detail)s; see the run's logs in Prefect"), detail=detail)
