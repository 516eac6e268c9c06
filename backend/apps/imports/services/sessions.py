"""ImportSession state changes: the only code that writes a session's status."""
from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from apps.i18n.messages import Message

from ..exceptions import IllegalTransitionError, ImportAlreadyRunningError
from ..import_types import import_type_spec
from ..models import ImportChunk, ImportSession
from ..reports import ImportReport
from ..selectors import import_session_active, import_session_error_details
from .alerts import import_session_alert_record

logger = logging.getLogger(__name__)

Status = ImportSession.Status

# A failed run's message, by the kind of its failed steps.
_FAILED_STEPS = {
    "chunk": gettext_noop(
        "%(failed)s of %(total)s chunks failed after retries (%(listed)s). "
        "The other chunks' work was kept; run the import again to finish."
    ),
    "file": gettext_noop(
        "%(failed)s of %(total)s files failed after retries (%(listed)s). "
        "The other files' work was kept; run the import again to finish."
    ),
    "shard": gettext_noop(
        "%(failed)s of %(total)s shards failed after retries (%(listed)s). "
        "The other shards' work was kept; run the import again to finish."
    ),
}

_ALLOWED_TRANSITIONS = {
    Status.PENDING: {Status.IN_PROGRESS, Status.FAILED, Status.CANCELLED},
    Status.IN_PROGRESS: {Status.COMPLETED, Status.FAILED, Status.CANCELLED},
}


def import_session_create(
    *,
    import_type: str,
    started_by: str,
    user=None,
    parameters: dict[str, Any] | None = None,
) -> ImportSession:
    """A new pending session; refused while another import is pending or running.

    A session whose process was killed on this host is settled first, so a dead run
    never blocks the next one.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                return ImportSession.objects.create(
                    import_type=import_type,
                    started_by=started_by,
                    started_by_user=user,
                    parameters=parameters or {},
                )
        except IntegrityError:
            active = import_session_active()
            if attempt == 0 and (active is None or import_session_settle_if_runner_died(session=active)):
                continue
            raise ImportAlreadyRunningError(active) from None
    raise AssertionError("unreachable")


def import_session_refuse(
    *,
    import_type: str,
    started_by: str,
    reason: Message | str,
    parameters: dict[str, Any] | None = None,
    flow_run_id: uuid.UUID | None = None,
) -> ImportSession:
    """Record a run that was refused before it began (another import was running)."""
    now = timezone.now()
    with transaction.atomic():
        session = ImportSession.objects.create(
            import_type=import_type,
            started_by=started_by,
            parameters=parameters or {},
            status=Status.FAILED,
            running_slot=None,
            started_at=now,
            finished_at=now,
            flow_run_id=flow_run_id,
            **_error_message_fields(reason),
        )
        import_session_alert_record(session=session)
    logger.info("import session #%s refused: %s", session.pk, reason)
    return session


def import_session_attach_flow_run(*, session_id: int, flow_run_id: uuid.UUID) -> ImportSession:
    """Remember the Prefect flow run that will carry out a pending session."""
    ImportSession.objects.filter(pk=session_id).update(flow_run_id=flow_run_id)
    return ImportSession.objects.get(pk=session_id)


def import_session_start(*, session_id: int, flow_run_id: uuid.UUID | None = None) -> ImportSession:
    """Mark the session running in this process (recorded, so a kill can be detected)."""
    fields: dict[str, Any] = {"started_at": timezone.now(), "runner": _this_process()}
    if flow_run_id:
        fields["flow_run_id"] = flow_run_id
    return _transition(session_id, Status.IN_PROGRESS, **fields)


def import_session_complete(*, session_id: int) -> ImportSession:
    return _transition(session_id, Status.COMPLETED)


def import_session_fail(*, session_id: int, error_message: Message | str) -> ImportSession:
    return _transition(session_id, Status.FAILED, error_message=error_message)


def import_session_settle(*, session_id: int, status: str, error_message: Message | str) -> ImportSession | None:
    """End a session that is still active (crash, cancel, unexpected failure); a session
    that already ended keeps its own, more precise, outcome."""
    try:
        return _transition(session_id, status, error_message=error_message)
    except IllegalTransitionError:
        return None
    except ImportSession.DoesNotExist:
        logger.warning("%s", gettext("import session #%(session)s no longer exists; nothing to settle") % {"session": session_id})
        return None


def import_session_settle_if_runner_died(*, session: ImportSession) -> bool:
    """Fail an active session whose flow process on this host no longer exists."""
    runner = session.runner or {}
    if not session.is_active or runner.get("host") != socket.gethostname() or not runner.get("pid"):
        return False
    if _process_start(runner["pid"]) == runner.get("process_start"):
        return False
    settled = import_session_settle(
        session_id=session.pk,
        status=ImportSession.Status.FAILED,
        error_message=Message(
            gettext_noop(
                "the import process (pid %(pid)s on %(host)s) stopped before finishing "
                "(killed or crashed); what it had imported is kept — start the import again to finish"
            ),
            pid=runner["pid"], host=runner["host"],
        ),
    )
    return settled is not None


def _this_process() -> dict:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "process_start": _process_start(pid)}


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: a reused pid has another one."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def import_session_finish(
    *, session_id: int, failed_steps: list[dict] | None = None, details: dict[str, Any] | None = None
) -> ImportSession:
    """End a run's session: the one place that decides how an import ended.

    `failed_steps` are the run's steps (image chunks, or the shards of a sharded run) that
    failed after their retries, each `{"kind": "chunk", "step": "chunk 3", "reason": ...}`;
    the report's `<kind>s_total` says of how many. `details` are merged into the report
    first. The session ends
    - cancelled, if it was cancelled meanwhile (the admin's word stands);
    - failed, naming the failed steps, if any step failed: the others' work is kept;
    - completed with an error message saying how many records or files were refused and
      the first of them (its `outcome` is then `completed_with_errors`);
    - completed, otherwise.
    """
    if details:
        import_session_update_report(session_id=session_id, **details)
    session = ImportSession.objects.get(pk=session_id)
    if session.status == Status.CANCELLED:
        return session
    spec = import_type_spec(session.import_type)
    report = session.report
    if failed_steps:
        kind = failed_steps[0].get("kind", "chunk")  # chunk, file or shard
        total = report.details.get(f"{kind}s_total", "?")
        return import_session_fail(
            session_id=session_id,
            error_message=Message(
                _FAILED_STEPS[kind], failed=len(failed_steps), total=total, listed=import_step_failures_listed(failed_steps)
            ),
        )
    recorded, planned = report.chunks_done, report.chunks_total
    if planned is not None and recorded < planned:
        # Every chunk records itself, even when it imports nothing; a missing one never ran
        # here (e.g. a shard on a host whose DATABASE_URL points elsewhere): not a success.
        return import_session_fail(
            session_id=session_id,
            error_message=Message(
                gettext_noop(
                    "only %(recorded)s of %(planned)s chunks were recorded: the others ended without importing. "
                    "In a sharded run, check that every host has the same DATABASE_URL as this one; then run the "
                    "import again."
                ),
                recorded=recorded, planned=planned,
            ),
        )
    errors, listed = import_session_error_details(session_id=session_id, limit=1)
    error_total = max(listed, report.errors)  # a file's list is capped, its count is not
    if errors:
        first = errors[0]
        reason = Message.from_json(first["message"]) if first.get("message") else first["reason"]
        if spec.error_unit == "files":
            message = Message(
                gettext_noop(
                    "%(count)s file(s) were not imported; the first: product %(product)s, %(reason)s. "
                    "See the per-file errors."
                ),
                count=error_total, product=first["product"] or "?", reason=reason,
            )
        else:
            message = Message(
                gettext_noop(
                    "%(count)s record(s) were not imported; the first: %(where)s, %(reason)s. "
                    "See the per-record errors."
                ),
                count=error_total, reason=reason,
                where=", ".join(part for part in (first.get("product"), first.get("file")) if part) or "?",
            )
        import_session_note(session_id=session_id, message=message)
    return import_session_complete(session_id=session_id)


_STEP_NAMES = {
    "chunk": gettext_noop("chunk %(index)s"),
    "file": gettext_noop("file %(index)s"),
    "shard": gettext_noop("shard %(index)s"),
}


def import_step_failure(*, kind: str, index: int, reason: Message | str) -> dict:
    """A step of a run (an image chunk, an exchange file, a shard) that failed after its
    retries, as import_session_finish takes it: its name and why in English, and the two as
    a message shown in the site's language."""
    step = Message(_STEP_NAMES[kind], index=index)
    return {
        "kind": kind, "step": str(step), "reason": str(reason),
        "message": Message(gettext_noop("%(step)s: %(reason)s"), step=step, reason=reason).as_json(),
    }


def import_step_failures_listed(failed_steps: list[dict], *, limit: int = 5) -> Message | str:
    """The first `limit` failed steps, `chunk 3: why; chunk 5: why`, as one message."""
    listed: Message | str = ""
    for step in failed_steps[:limit]:
        said = Message.from_json(step["message"]) if step.get("message") else f"{step['step']}: {step['reason']}"
        listed = Message(gettext_noop("%(listed)s; %(step)s"), listed=listed, step=said) if listed else said
    return listed


def import_session_time_out(*, session_id: int, limit_seconds: float) -> ImportSession | None:
    """End a run that Prefect stopped at its time limit, saying how far it got; its
    running slot is free at once for the next start."""
    report = ImportSession.objects.get(pk=session_id).report
    if report.chunks_total is not None:
        progress = Message(
            gettext_noop("%(done)s of %(total)s chunks done, %(progress)s"),
            done=report.chunks_done, total=report.chunks_total, progress=report.progress_message(),
        )
    else:
        progress = Message(gettext_noop("%(progress)s done"), progress=report.progress_message())
    return import_session_settle(
        session_id=session_id,
        status=Status.FAILED,
        error_message=Message(
            gettext_noop(
                "ran out of time after %(seconds)s s (ONEC_IMPORT_TIMEOUT_SECONDS); %(progress)s. "
                "What was imported is kept: run the import again to finish, or raise ONEC_IMPORT_TIMEOUT_SECONDS."
            ),
            seconds=f"{limit_seconds:g}", progress=progress,
        ),
    )


def import_session_note(*, session_id: int, message: Message | str) -> None:
    """Say what went wrong in a run that still completed (e.g. some files were refused)."""
    ImportSession.objects.filter(pk=session_id).update(**_error_message_fields(message))


def _error_message_fields(message: Message | str) -> dict[str, Any]:
    """A session's message as stored: its English text, and the Message to translate it."""
    return {
        "error_message": str(message),
        "error_message_translatable": message.as_json() if isinstance(message, Message) else {},
    }


def import_session_update_report(*, session_id: int, **values: Any) -> dict:
    """Merge values into report_details under a row lock (chunks write concurrently)."""
    with transaction.atomic():
        session = ImportSession.objects.select_for_update().get(pk=session_id)
        session.report_details = {**session.report_details, **values, "last_updated": timezone.now().isoformat()}
        session.save(update_fields=["report_details"])
    return session.report_details


def import_session_record_chunk(
    *, session_id: int, chunk_index: int, counters: dict[str, int], error_details: list[dict]
) -> ImportReport:
    """Record a finished chunk and add it to the session's totals.

    A retried chunk replaces its earlier record and only the difference is added, so
    totals never count a chunk twice; the session row lock serializes parallel chunks.
    """
    with transaction.atomic():
        session = ImportSession.objects.select_for_update().get(pk=session_id)
        previous = ImportChunk.objects.filter(session=session, index=chunk_index).first()
        old = previous.counters if previous else {}
        report = dict(session.report_details)
        for name in counters.keys() | old.keys():
            report[name] = report.get(name, 0) + counters.get(name, 0) - old.get(name, 0)
        report["chunks_done"] = report.get("chunks_done", 0) + (previous is None)
        report["last_updated"] = timezone.now().isoformat()
        if previous is None:  # the row lock above makes this the only writer of the chunk
            ImportChunk.objects.create(
                session=session, index=chunk_index, counters=counters, error_details=error_details
            )
        else:
            previous.counters, previous.error_details = counters, error_details
            previous.save(update_fields=["counters", "error_details", "recorded_at"])
        session.report_details = report
        session.save(update_fields=["report_details"])
    return session.report


def _transition(session_id: int, to: str, **fields: Any) -> ImportSession:
    with transaction.atomic():
        session = ImportSession.objects.select_for_update().get(pk=session_id)
        if to not in _ALLOWED_TRANSITIONS.get(session.status, ()):
            raise IllegalTransitionError(
                f"import session #{session_id} is {session.status}; it cannot become {to}"
            )
        session.status = to
        if "error_message" in fields:
            fields.update(_error_message_fields(fields["error_message"]))
        for name, value in fields.items():
            setattr(session, name, value)
        update_fields = ["status", *fields]
        if to not in ImportSession.ACTIVE_STATUSES:
            session.running_slot = None
            session.finished_at = timezone.now()
            update_fields += ["running_slot", "finished_at"]
        session.save(update_fields=update_fields)
        if to not in ImportSession.ACTIVE_STATUSES:
            import_session_alert_record(session=session)
    logger.info("import session #%s -> %s", session_id, to)
    return session
