"""What every import flow shares: the retry policy, the tasks that start, check and end a
session, and the hooks that settle a session when its run fails, crashes or is cancelled."""
from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, reset_queries
from django.utils.translation import gettext, gettext_noop, ngettext
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.flow_engine import FlowRunTimeoutError
from prefect.runtime import flow_run as current_flow_run

from apps.i18n.messages import Message, message_of
from apps.imports.exceptions import (
    ImportAlreadyRunningError,
    ImportRefusedError,
    RUN_WIDE_ERRORS,
    StepFailuresError,
)
from apps.imports.import_types import import_type_spec
from apps.imports.models import ImportSession
from apps.imports.reports import ImportReport, counter_label, counters_text, reason_text
from apps.imports.selectors import import_session_error_details
from apps.imports.services.alerts import import_alerts_send
from apps.imports.services.preflight import catalog_require_products
from apps.imports.services.sessions import (
    import_session_create,
    import_session_finish,
    import_session_refuse,
    import_session_settle,
    import_session_start,
    import_step_failure,
    import_session_time_out,
    import_session_update_report,
)

logger = logging.getLogger(__name__)

# Faults worth another try: a dropped database connection, a flapping file system.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)
RETRY_DELAYS_SECONDS = [2, 10, 30]
ERROR_TABLE_LIMIT = 200
T = TypeVar("T")
# Every progress-artifact update is a Prefect API call: the session row gets every step,
# Prefect's bar at most one update a second (bench/RESULTS.md).
PROGRESS_ARTIFACT_INTERVAL_SECONDS = 1.0
_progress_sent_at: dict[str, float] = {}
_progress_lock = threading.Lock()


def retry_on_transient_errors(task, task_run, state) -> bool:
    """Retry I/O and lost-connection faults; never bad input or settings (RUN_WIDE_ERRORS)."""
    exc = state.data if isinstance(state.data, BaseException) else None
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, RUN_WIDE_ERRORS)


# The task options of a step that writes to the database or reads the exchange: retried on
# transient faults, never cached (every run must do its work).
RETRIED_STEP = {
    "retries": len(RETRY_DELAYS_SECONDS),
    "retry_delay_seconds": RETRY_DELAYS_SECONDS,
    "retry_condition_fn": retry_on_transient_errors,
    "cache_policy": NO_CACHE,
}


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


def publish_progress(artifact_id: str | None, report: ImportReport, *, final: bool = False) -> None:
    """Move the run's progress artifact to the report's processed of total (throttled)."""
    if not artifact_id or report.percent is None:
        return
    now = time.monotonic()
    with _progress_lock:
        if final:
            _progress_sent_at.pop(artifact_id, None)  # a worker process runs many flows
        elif now - _progress_sent_at.get(artifact_id, 0.0) < PROGRESS_ARTIFACT_INTERVAL_SECONDS:
            return
        else:
            _progress_sent_at[artifact_id] = now
    update_progress_artifact(artifact_id=artifact_id, progress=report.percent)


@task(name="start-session", cache_policy=NO_CACHE)
@closes_db_connections
def start_session(
    import_type: str, session_id: int | None, parameters: dict, report: dict | None = None
) -> dict:
    """Mark the run's session in progress (a scheduled run creates its own) and record
    what the run is about to do; returns the session id and its start time.

    Admin and CLI runs bring a pending session; a scheduled run (no session id) creates
    its own, or, while another import holds the slot, records a refused session saying
    why and fails the run with that reason. Not retried: a second attempt of a scheduled
    run would find its own first session holding the slot.
    """
    if session_id is None:
        try:
            session_id = import_session_create(
                import_type=import_type, started_by=ImportSession.StartedBy.SCHEDULE, parameters=parameters
            ).id
        except ImportAlreadyRunningError as exc:
            reason = Message(
                gettext_noop("scheduled run skipped: %(reason)s; the next scheduled run will try again"),
                reason=message_of(exc),
            )
            import_session_refuse(
                import_type=import_type,
                started_by=ImportSession.StartedBy.SCHEDULE,
                parameters=parameters,
                reason=reason,
                flow_run_id=current_flow_run.id,
            )
            raise ImportRefusedError(reason) from None
    session = import_session_start(session_id=session_id, flow_run_id=current_flow_run.id)
    if report:
        import_session_update_report(session_id=session_id, **report)
    return {"session_id": session.pk, "started_at": session.started_at}


@task(name="validate-catalog", cache_policy=NO_CACHE)
@closes_db_connections
def validate_catalog(then: str) -> int:
    """Refuse to run without active products: import the catalog first."""
    count = catalog_require_products(then=then)
    get_run_logger().info(ngettext("%(count)s active product", "%(count)s active products", count) % {"count": count})
    return count


@task(
    name="summarize",
    **RETRIED_STEP,
)
@closes_db_connections
def summarize(
    session_id: int,
    failed_steps: list[dict] | None = None,
    details: dict | None = None,
    progress_artifact_id: str | None = None,
) -> dict:
    """Publish the run's tables and end its session: completed, completed with errors,
    failed (the run fails too) or, if the admin cancelled it meanwhile, cancelled."""
    session = import_session_finish(session_id=session_id, failed_steps=failed_steps, details=details)
    report = session.report
    publish_progress(progress_artifact_id, report, final=True)
    spec = import_type_spec(session.import_type)
    counters = {counter.key: report.count(counter.key) for counter in spec.counters}
    create_table_artifact(
        table=_summary_rows(spec, counters, dry_run=report.dry_run), key=f"import-{spec.key}-summary",
        description=gettext("%(type)s: summary") % {"type": spec.label},
    )
    error_rows, error_total = import_session_error_details(session_id=session_id, limit=ERROR_TABLE_LIMIT)
    if error_rows:
        create_table_artifact(
            table=[
                {gettext("Product"): error.get("product", ""), gettext("File"): error.get("file", ""),
                 gettext("Reason"): reason_text(error)}
                for error in error_rows
            ],
            key=f"import-{spec.key}-errors", description=_errors_table_description(spec, len(error_rows), error_total),
        )
    logger = get_run_logger()
    unknown = report.details.get("unknown_offer_ids") or []
    if unknown:
        create_table_artifact(
            table=[{gettext("Offer"): offer} for offer in unknown], key=f"import-{spec.key}-unknown-offers",
            description=gettext("Offers whose goods are not in the catalog (not imported)"),
        )
        count = report.count("unknown_offers") or len(unknown)
        logger.warning(ngettext(
            "%(count)s offer names goods that are not in the catalog and was not imported (first: %(first)s); "
            "import the catalog with those goods, then run this import again",
            "%(count)s offers name goods that are not in the catalog and were not imported (first: %(first)s); "
            "import the catalog with those goods, then run this import again",
            count,
        ) % {"count": count, "first": ", ".join(unknown[:5])})
    logger.info("%s", gettext("%(type)s: %(counters)s") % {
        "type": spec.label, "counters": counters_text(spec.key, {**({"dry_run": True} if report.dry_run else {}), **counters}),
    })
    if session.error_message:
        logger.warning("%s", session.error_message_text)
    if session.status == ImportSession.Status.FAILED:
        raise StepFailuresError(session.error_message_value)  # a Message: the terminal says it in the site's language
    if session.status == ImportSession.Status.CANCELLED:
        return {**report.details, "cancelled": session.error_message or "cancelled"}
    return dict(report.details)


def _summary_rows(spec, counters: dict, *, dry_run: bool) -> list[dict]:
    """The summary table in the site's language: each counter under its label, with its unit
    and its key (what the JSON report and the CLI's --json call it)."""
    column = {"label": gettext("Counter"), "value": gettext("Value"), "unit": gettext("Counts"), "key": gettext("Key")}
    rows = [
        {column["label"]: str(counter.label), column["value"]: counters[counter.key], column["unit"]: str(counter.unit),
         column["key"]: counter.key}
        for counter in spec.counters
    ]
    if dry_run:
        rows.insert(0, {column["label"]: counter_label(spec.key, "dry_run"),
                        column["value"]: gettext("yes: nothing was written"), column["unit"]: "", column["key"]: "dry_run"})
    return rows


def _errors_table_description(spec, shown: int, total: int) -> str:
    if spec.error_unit == "files":
        said = ngettext("%(total)s file was not imported", "%(total)s files were not imported", total)
    else:
        said = ngettext("%(total)s record was not imported", "%(total)s records were not imported", total)
    said %= {"total": total}
    return gettext("%(said)s (the first %(shown)s)") % {"said": said, "shown": shown} if total > shown else said


def failed_steps(futures, *, kind: str, indexes: list[int] | None = None) -> list[dict]:
    """The mapped steps that did not complete (`import_step_failure`); `indexes` name the
    steps when they are not 0, 1, 2, ..."""
    indexes = indexes if indexes is not None else list(range(len(futures)))
    return [
        import_step_failure(kind=kind, index=index, reason=failure_reason(future.state))
        for index, future in zip(indexes, futures)
        if not future.state.is_completed()
    ]


def _session_id(flow_run) -> int | None:
    session_id = (flow_run.parameters or {}).get("session_id")
    if session_id:
        return int(session_id)
    return ImportSession.objects.filter(flow_run_id=flow_run.id).values_list("id", flat=True).first()


def _exception_of(state) -> BaseException | None:
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # the result may be unavailable (crash, other process)
        return None
    return exc if isinstance(exc, BaseException) else None


def failure_reason(state) -> Message | str:
    """What a failed flow or task run's state says went wrong, for a person (a Message, kept
    with the session to show in the site's language, where the error carried one)."""
    exc = _exception_of(state)
    if isinstance(exc, BaseException) and (isinstance(exc, RUN_WIDE_ERRORS) or isinstance(message_of(exc), Message)):
        return message_of(exc)  # raised with a message that says what to do (e.g. the storage's outage)
    if isinstance(exc, BaseException):
        return Message(
            gettext_noop("unexpected error: %(error)s; see the flow run's logs in Prefect"),
            error=f"{type(exc).__name__}: {exc}",
        )
    return prefect_state_reason(state)


def prefect_state_reason(state) -> Message:
    """Why a run ended that raised no error of ours: our sentence, in the site's language,
    with what Prefect's state says (its own English text) as a parameter."""
    if state.is_crashed():
        ended, said = gettext_noop("the run crashed; see its logs in Prefect"), gettext_noop("the run crashed; Prefect says: %(details)s")
    else:
        ended, said = gettext_noop("the run failed; see its logs in Prefect"), gettext_noop("the run failed; Prefect says: %(details)s")
    return Message(said, details=state.message) if state.message else Message(ended)


def _settle(flow_run, status: str, reason: Message | str) -> None:
    connections.close_all()  # the failure may have been a lost database connection
    try:
        session_id = _session_id(flow_run)
        if session_id:
            import_session_settle(session_id=session_id, status=status, error_message=reason)
    finally:
        connections.close_all()


def settle_session_on_failure(flow, flow_run, state) -> None:
    # By type, not by the state's name: any TimeoutError raised in a flow is "TimedOut".
    if isinstance(_exception_of(state), FlowRunTimeoutError):
        connections.close_all()
        try:
            if session_id := _session_id(flow_run):
                import_session_time_out(session_id=session_id, limit_seconds=flow.timeout_seconds)
        finally:
            connections.close_all()
        return
    _settle(flow_run, ImportSession.Status.FAILED, failure_reason(state))


def settle_session_on_crash(flow, flow_run, state) -> None:
    _settle(flow_run, ImportSession.Status.FAILED, Message(
        gettext_noop("the flow run crashed: %(details)s"), details=state.message or Message(gettext_noop("no details"))
    ))


def settle_session_on_cancellation(flow, flow_run, state) -> None:
    _settle(flow_run, ImportSession.Status.CANCELLED, state.message or Message(gettext_noop("the flow run was cancelled")))


def send_session_alert(flow, flow_run, state) -> None:
    """Mail the alert of the run's session, if its end recorded one (services.alerts).
    Never fails the run: a mail server that is down is logged and recorded, and the
    check-import-alerts deployment sends the alert again."""
    connections.close_all()
    try:
        if session_id := _session_id(flow_run):
            import_alerts_send(session_id=session_id)
    except Exception:
        logger.exception("%s", gettext("the alert e-mail of flow run %(run)s was not sent") % {"run": flow_run.id})
    finally:
        connections.close_all()


# Every import flow: its session settled however the run ends, then its alert mailed, and a
# time limit (the seeds' task had one hour). Prefect stops a run that exceeds it; the session
# then fails saying so.
IMPORT_FLOW_OPTIONS = {
    "on_completion": [send_session_alert],
    "on_failure": [settle_session_on_failure, send_session_alert],
    "on_crashed": [settle_session_on_crash, send_session_alert],
    "on_cancellation": [settle_session_on_cancellation, send_session_alert],
    "timeout_seconds": settings.ONEC_IMPORT_TIMEOUT_SECONDS or None,
}


class StepTimeoutError(TimeoutError):
    """A step made no progress within its time limit; a TimeoutError, so it is retried."""


class StepAttempt:
    """What one attempt's work is handed: `progressed()` each time it moves on (a photo
    stored), which restarts its time limit; `waiting()` around a wait that is no stall (for
    a slot another chunk holds); `still_wanted()`, False once it was abandoned."""

    def __init__(self) -> None:
        self.abandoned = threading.Event()
        self.last_progress = time.monotonic()
        self.waits = 0

    def progressed(self) -> None:
        self.last_progress = time.monotonic()

    @contextmanager
    def waiting(self):
        self.waits += 1
        try:
            yield
        finally:
            self.waits -= 1
            self.progressed()

    def seconds_left(self, seconds: float) -> float:
        """Until the attempt counts as stalled (a full limit while it waits)."""
        return seconds if self.waits else max(self.last_progress + seconds - time.monotonic(), 0)

    def still_wanted(self) -> bool:
        return not self.abandoned.is_set()


def run_step_until_stalled(work: Callable[[StepAttempt], T], *, seconds: float, step: str) -> T:
    """Run `work(attempt)` in a thread of its own and wait for it as long as it makes
    progress: it is abandoned once `seconds` pass without a `progressed()` (0: never).

    Prefect's task timeout cannot interrupt a thread blocked in I/O (a stalled network file
    system, a hung storage call): it only raises at the thread's next bytecode. So the
    attempt runs apart and is abandoned instead: StepTimeoutError lets Prefect retry the
    step, while the stuck thread, if it ever wakes, finds `still_wanted()` False and must
    record nothing. The limit counts from the last progress, not from the start, so a
    large chunk doing slow work (renditions on a busy machine) is not taken for a stall.
    """
    current, done, outcome = StepAttempt(), threading.Event(), {}

    def attempt() -> None:
        try:
            outcome["value"] = work(current)
        except BaseException as exc:  # handed to the waiting task thread, which raises it
            outcome["error"] = exc
        finally:
            reset_queries()
            connections.close_all()
            done.set()

    threading.Thread(
        target=contextvars.copy_context().run, args=(attempt,), name=f"import-{step}", daemon=True
    ).start()
    while not done.wait(current.seconds_left(seconds) if seconds else None):
        if not current.seconds_left(seconds):
            current.abandoned.set()
            raise StepTimeoutError(
                f"{step} made no progress in {seconds:g} s (ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS): stalled file "
                "system or storage? The attempt was abandoned"
            )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
