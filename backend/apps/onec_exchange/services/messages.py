"""What an exchange import tells 1C in words, in one place: the `progress` texts of each
step (laying files out, starting and following runs), the lines of `success`, and the
reasons of `failure` its runs give (a refused file or request says its own, where refused).

Each is an apps.i18n Message: the row keeps the English text and its parameters, and the
answer is written in the site's language (`LANGUAGE_CODE`), as the admin shows it. A
completed import's lines about its runs are read from its sessions when answered: their
counters' labels are translated then."""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, error_message, is_stored_message, label_message, message_of, message_text
from apps.imports.import_types import import_type_spec
from apps.imports.models import ImportSession
from apps.imports.reports import counted, counter_label


def import_type_name(import_type: str) -> Message:
    """«Product catalog», as every line names a run's import type."""
    return Message(gettext_noop("«%(label)s»"), label=label_message(import_type_spec(import_type).label))


def session_name(session: ImportSession) -> Message:
    """`Product images #12 (In progress)`: another import a step waits for."""
    return Message(
        gettext_noop("%(type)s #%(id)s (%(status)s)"),
        type=label_message(import_type_spec(session.import_type).label), id=session.pk,
        status=label_message(ImportSession.Status(session.status).label),
    )


def listed(parts: list[Message | str], *, semicolons: bool = False) -> Message | str:
    """Messages one after the other (counters by commas, reasons by semicolons), as one Message."""
    if len(parts) <= 1:
        return parts[0] if parts else ""
    text = gettext_noop("%(first)s; %(rest)s") if semicolons else gettext_noop("%(first)s, %(rest)s")
    return Message(text, first=parts[0], rest=listed(parts[1:], semicolons=semicolons))


# --- progress: what a step is doing -------------------------------------------------------

def handing_to_prefect(filename: str) -> Message:
    return Message(gettext_noop("%(file)s: handing the import to Prefect"), file=filename)


def waiting_for_preparation(filename: str, flow_run_id) -> Message:
    return Message(
        gettext_noop("%(file)s: waiting for a worker to prepare the import (Prefect flow run %(run)s)"),
        file=filename, run=str(flow_run_id),
    )


def starting_next_import(filename: str) -> Message:
    return Message(gettext_noop("%(file)s: starting the next import"), file=filename)


def waiting_before_layout(active: ImportSession) -> Message:
    return Message(
        gettext_noop("waiting for import #%(id)s (%(session)s) before laying the files out"),
        id=active.pk, session=session_name(active),
    )


def waiting_for_mover() -> Message:
    return Message(gettext_noop("waiting for another exchange moving its files into the exchange directory"))


def waiting_for_exchange(*, exchange_id: int, user: str, path: str) -> Message:
    return Message(
        gettext_noop(
            "waiting for 1C exchange #%(exchange)s (%(user)s): its %(path)s is not imported yet, "
            "and this exchange's file would replace it"
        ),
        exchange=exchange_id, user=user, path=path,
    )


def moving_files(left: int, *, more: bool) -> Message:
    return Message(
        gettext_noop("moving files into the exchange directory: %(count)s left"), count=f"{left}{'+' if more else ''}"
    )


def unpacking(*, archive: str, done: int, total: int, entry: PurePosixPath | None = None, written: int = 0,
              size: int = 0) -> Message:
    """`unpacking import.zip: 3 of 40 files`, and the large entry in hand in MB."""
    if entry is None:
        return Message(gettext_noop("unpacking %(archive)s: %(done)s of %(total)s files"), archive=archive, done=done, total=total)
    return Message(
        gettext_noop("unpacking %(archive)s: %(done)s of %(total)s files (%(entry)s: %(written)s of %(size)s MB)"),
        archive=archive, done=done, total=total, entry=str(entry), written=written // 2**20, size=size // 2**20,
    )


def waiting_for_slot(import_type: str, holder: ImportSession) -> Message:
    return Message(
        gettext_noop("%(type)s: waiting for import #%(id)s (%(session)s)"),
        type=import_type_name(import_type), id=holder.pk, session=session_name(holder),
    )


def session_progress(session: ImportSession) -> Message:
    """What a run's session is doing, in 1C's `progress` answer."""
    if session.status == ImportSession.Status.PENDING:
        return Message(
            gettext_noop("%(type)s #%(id)s: waiting for a worker to pick the run up"),
            type=import_type_name(session.import_type), id=session.pk,
        )
    return Message(
        gettext_noop("%(type)s #%(id)s: %(progress)s"),
        type=import_type_name(session.import_type), id=session.pk, progress=session.report.progress_message(),
    )


# --- success: what the import did ---------------------------------------------------------

def session_summary(session: ImportSession) -> Message:
    """A completed run's counts, one line of 1C's `success` answer."""
    spec = import_type_spec(session.import_type)
    counts = listed([
        # A counter's label is built from parts (`{what}: created`): it is translated now, as
        # the line is answered (never stored), not looked up as one text.
        counted(counter_label(session.import_type, key), session.report.count(key))
        for key in spec.summary_counters
    ])
    if not session.error_message:
        return Message(gettext_noop("%(type)s #%(id)s: %(counts)s"), type=import_type_name(session.import_type),
                       id=session.pk, counts=counts)
    return Message(
        gettext_noop("%(type)s #%(id)s: %(counts)s (%(note)s)"),
        type=import_type_name(session.import_type), id=session.pk, counts=counts, note=session.error_message_value,
    )


def nothing_to_import(filename: str) -> Message:
    return Message(gettext_noop("%(file)s: received, nothing to import from it"), file=filename)


def nothing_to_deactivate() -> Message:
    return Message(gettext_noop("deactivate: nothing was imported in this exchange, nothing to remove"))


def type_not_run(import_type: str, reason: BaseException) -> Message:
    return Message(gettext_noop("%(type)s not run: %(reason)s"), type=import_type_name(import_type),
                   reason=problems_message(reason))


# --- failure: why it ended ----------------------------------------------------------------

def never_sent(filename: str | None, path: PurePosixPath | str) -> Message:
    return Message(
        gettext_noop("%(file)s was never sent in this exchange (looked for %(path)s): send it with mode=file first"),
        file=filename or "", path=str(path),
    )


def replaced_by_another(filename: str, *, exchange_id: int, user: str) -> Message:
    return Message(
        gettext_noop(
            "%(file)s was replaced in the exchange directory by 1C exchange #%(exchange)s (%(user)s) "
            "before it was imported: send it again"
        ),
        file=filename, exchange=exchange_id, user=user,
    )


def deactivate_replaced(path: str, *, exchange_id: int, user: str) -> Message:
    return Message(
        gettext_noop(
            "deactivate not run: %(path)s, which this exchange sent, was replaced in the exchange directory by "
            "1C exchange #%(exchange)s (%(user)s), so what this exchange lacks cannot be told: run the full "
            "exchange again"
        ),
        path=path, exchange=exchange_id, user=user,
    )


def gave_way(filename: str, *, exchange_id: int, user: str) -> Message:
    return Message(
        gettext_noop(
            "%(file)s: 1C exchange #%(exchange)s (%(user)s) and this one each wait for a file the other laid "
            "out, so this later exchange gave way: run the exchange again once #%(exchange)s has finished"
        ),
        file=filename, exchange=exchange_id, user=user,
    )


def could_not_start(import_type: str, exc: BaseException) -> Message:
    return Message(gettext_noop("%(type)s could not start: %(reason)s"), type=import_type_name(import_type),
                   reason=problems_message(exc))


def session_ended(session: ImportSession) -> Message:
    """A run that failed or was cancelled, and why."""
    text = (
        gettext_noop("%(type)s #%(id)s was cancelled: %(reason)s")
        if session.status == ImportSession.Status.CANCELLED
        else gettext_noop("%(type)s #%(id)s failed: %(reason)s")
    )
    return Message(
        text, type=import_type_name(session.import_type), id=session.pk,
        reason=session.error_message_value or Message(gettext_noop("see the session in the admin")),
    )


def problems_message(exc: BaseException) -> Message | str:
    """What an import that could not start says: each of its problems' messages."""
    problems = getattr(exc, "problems", None) or [exc]
    return listed([message_of(problem) for problem in problems], semicolons=True)


def could_not_ask_prefect(filename: str, exc: BaseException) -> Message:
    return Message(
        gettext_noop("%(file)s: the site could not ask Prefect to prepare the import (%(error)s); 1C may try again"),
        file=filename, error=error_message(exc),
    )


def preparation_failed(reason: Message | str) -> Message:
    return Message(gettext_noop("preparing the import failed: %(reason)s"), reason=reason)


# --- the stored lines ---------------------------------------------------------------------

def stored(message: Message | str | None) -> Any:
    """A message as the row keeps it (JSON)."""
    return message.as_json() if isinstance(message, Message) else message


def stored_lines(record) -> list:
    """The row's stored lines (an import stored before the upgrade: its text's lines)."""
    return record.message.splitlines() if isinstance(record.message, str) else list(record.message or [])


def english(line: Any) -> str:
    """A stored line in English, for the logs and Prefect's run state."""
    return str(Message.from_json(line)) if is_stored_message(line) else str(line)


def result_lines(record) -> list[str]:
    """An exchange import's result in the language of the moment: its runs' counts (once
    completed) and its stored lines; a result stored before the upgrade, as it is."""
    if isinstance(record.message, str):
        return record.message.splitlines()
    lines = stored_lines(record)
    if record.status == record.Status.COMPLETED:
        lines = [session_summary(session) for session in import_sessions(record)] + lines
    return [message_text(line) for line in lines]


def import_sessions(record) -> list[ImportSession]:
    """The import sessions an exchange import started, in the order it started them; from
    `sessions.all()`, so the admin's prefetch of them serves every line that names them."""
    return sorted(record.sessions.all(), key=lambda session: session.pk)
