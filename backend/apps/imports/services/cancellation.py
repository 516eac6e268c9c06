"""Cancelling an import: ask Prefect to stop its flow run, then end the session `cancelled`.

What was imported stays consistent: a chunk writes its products' images in one bulk update
after its files are in place, so a stopped chunk leaves its products as they were (the
files it already copied are found up to date by the next run), and the session's counters
are sums over the chunks that finished.
"""
from __future__ import annotations

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, label_message

from ..exceptions import ImportNotActiveError
from ..models import ImportSession
from ..prefect_api.runs import prefect_flow_run_cancel
from .sessions import import_session_settle


def import_run_cancel(*, session_id: int, cancelled_by: Message | str) -> ImportSession:
    """Cancel an active session's flow run in Prefect and end the session `cancelled`.

    Raises ImportNotActiveError if the session already ended, PrefectUnavailableError if
    Prefect could not be told (the session then stays active: its run may still be going).
    """
    session = ImportSession.objects.get(pk=session_id)
    if not session.is_active:
        raise ImportNotActiveError(Message(
            gettext_noop("import session #%(id)s is already %(status)s; only pending or running imports can be cancelled"),
            id=session.pk, status=label_message(ImportSession.Status(session.status).label),
        ))
    reason = Message(gettext_noop("cancelled by %(who)s"), who=cancelled_by)
    if session.flow_run_id:
        if note := prefect_flow_run_cancel(flow_run_id=session.flow_run_id, reason=str(reason)):
            reason = Message(gettext_noop("cancelled by %(who)s; %(note)s"), who=cancelled_by, note=note)
    settled = import_session_settle(session_id=session.pk, status=ImportSession.Status.CANCELLED, error_message=reason)
    if settled is None:  # it ended on its own in the meantime; report what it became
        session.refresh_from_db()
        return session
    return settled
