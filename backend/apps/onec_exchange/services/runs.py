"""The import runs an exchange import asks for: which import types a file starts (from
the import-type registry), starting them one after the other through the launch service,
following their sessions, and ending the exchange import `completed` (with each run's
counts) or `failed` (with the reason). Run by the preparation flow on a worker, one step
at a time: each step reads the rows, does one thing and says what to wait for."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.utils import timezone

from commerceml.layout import EXCHANGE_KINDS
from apps.i18n.messages import Message
from apps.imports.exceptions import ExchangeDirectoryError, ImportNotStartedError
from apps.imports.import_types import import_type_spec, import_type_specs
from apps.imports.models import ImportSession
from apps.imports.services.launch import import_launch_slot_holder, import_session_launch
from ..models import ExchangeImport
from ..selectors import exchange_batch_xml_replaced, exchange_file_replaced, exchange_placed_file
from . import messages
from .layout import FINISHED, exchange_import_fail

logger = logging.getLogger(__name__)

_XML_SUFFIX = ".xml"
# The ExchangeImport of `deactivate` (no file's path is empty).
DEACTIVATE_PATH = ""


@dataclass(frozen=True)
class RunsStep:
    """Where an exchange import stands: `finished`, or waiting for session `wait_for` to end."""

    finished: bool
    wait_for: int | None = None


def exchange_import_types(path: PurePosixPath) -> list[str]:
    """The import types a file starts, from the registry: the exchange types whose kinds
    the file carries, then the types without kinds that read files under the kinds'
    folders (goods -> the images).

    A 3.1 folder holds one kind. A 2.x file, by its name prefix, carries several, some
    only as reference data (import.xml's price types and warehouses): it starts the types
    whose main kind it carries or a kind no other 2.x file carries (offers.xml's
    offers, the catalog's characteristics: 1C sends goods in import.xml and their offers
    in offers.xml, and newer 1C in an exchange of its own, after import.xml's run ended)."""
    if path.suffix.lower() != _XML_SUFFIX:
        return []
    if len(path.parts) > 1:
        kinds = {kind for kind, (folder, _) in EXCHANGE_KINDS.items() if folder == path.parts[0]}
    else:
        kinds = {kind for kind, (_, prefixes) in EXCHANGE_KINDS.items() if path.name.lower().startswith(prefixes)}
    folders = {EXCHANGE_KINDS[kind][0] for kind in kinds}
    types = [spec.key for spec in import_type_specs() if {item.kind for item in spec.kinds} & kinds]
    if len(path.parts) == 1:
        only_here = {kind for kind in kinds if len(EXCHANGE_KINDS[kind][1]) == 1}
        main = [
            key for key in types
            if import_type_spec(key).required_kind in kinds or {item.kind for item in import_type_spec(key).kinds} & only_here
        ]
        types = main or types
    if types:
        types += [
            spec.key for spec in import_type_specs()
            if not spec.kinds and any(pattern.split("/", 1)[0] in folders for pattern in spec.files)
        ]
    return types


def exchange_import_runs_advance(*, exchange_import_id: int, flow_run_id) -> RunsStep:
    """One step of an exchange import's runs, one type after the other: follow the run
    of the first type that has not completed, starting it if none was (or taking over a
    run another import started after this file was laid out: it reads the file too),
    unless another user's exchange laid a file out over this one since (what its runs
    would read is not this 1C's file); say
    which session to wait for (the run, or the import holding the running slot); end the
    import `failed` when a run failed or could not start, `completed` when every run did.
    Only `deactivate`'s runs remove what a full exchange no longer has: a file's run may
    see one part of many. Only the preparation run `flow_run_id` that the import is
    recorded with advances it (an earlier run of a file sent again stops here)."""
    record = ExchangeImport.objects.select_related("exchange__user").get(pk=exchange_import_id)
    if record.status in FINISHED or str(record.flow_run_id) != str(flow_run_id):
        return RunsStep(finished=True)
    remove_absent = record.path == DEACTIVATE_PATH
    if remove_absent:
        placed_at = record.created_at
        if (replaced := exchange_batch_xml_replaced(exchange=record.exchange)) is not None:  # its turn lapsed
            exchange_import_fail(
                exchange_import_id=record.pk,
                reason=messages.deactivate_replaced(
                    replaced.path, exchange_id=replaced.exchange_id, user=str(replaced.exchange.user)
                ),
                flow_run_id=flow_run_id,
            )
            return RunsStep(finished=True)
    elif (placed := exchange_placed_file(exchange=record.exchange, path=PurePosixPath(record.path))) is not None:
        placed_at = placed.placed_at
        if (replaced := exchange_file_replaced(placed=placed)) is not None:  # its turn lapsed: 1C stayed quiet
            exchange_import_fail(
                exchange_import_id=record.pk,
                reason=messages.replaced_by_another(
                    record.filename, exchange_id=replaced.exchange_id, user=str(replaced.exchange.user)
                ),
                flow_run_id=flow_run_id,
            )
            return RunsStep(finished=True)
    else:
        exchange_import_fail(
            exchange_import_id=record.pk,
            reason=messages.never_sent(record.filename, record.path),
            flow_run_id=flow_run_id,
        )
        return RunsStep(finished=True)
    if not record.import_types:
        _finish(record, ExchangeImport.Status.COMPLETED, messages.stored_lines(record) or [messages.nothing_to_import(record.filename)])
        return RunsStep(finished=True)
    sessions = {session.import_type: session for session in record.sessions.all()}
    for import_type in record.import_types:
        session = sessions.get(import_type) or _adoptable(import_type=import_type, placed_at=placed_at, remove_absent=remove_absent)
        if session is None:
            try:
                session = import_session_launch(
                    import_type=import_type, user=record.exchange.user, started_by=ImportSession.StartedBy.EXCHANGE,
                    remove_absent=remove_absent,
                )
            except ImportNotStartedError as exc:
                if all(isinstance(problem, ExchangeDirectoryError) for problem in exc.problems):
                    _skip(record, import_type, exc)  # e.g. 1C sends goods without pictures
                    return exchange_import_runs_advance(exchange_import_id=record.pk, flow_run_id=flow_run_id)
                holder = import_launch_slot_holder(exc)
                if holder is None:
                    _finish(record, ExchangeImport.Status.FAILED, [messages.could_not_start(import_type, exc)])
                    return RunsStep(finished=True)
                _running(record, progress=messages.waiting_for_slot(import_type, holder))
                return RunsStep(finished=False, wait_for=holder.pk)
        if import_type not in sessions:
            record.sessions.add(session)
            _running(record, progress=None)
        if session.is_active:
            return RunsStep(finished=False, wait_for=session.pk)
        if session.status != ImportSession.Status.COMPLETED:
            _finish(record, ExchangeImport.Status.FAILED, [messages.session_ended(session)])
            return RunsStep(finished=True)
    # Its runs' counts are read from the sessions when answered (services.messages.result_lines).
    _finish(record, ExchangeImport.Status.COMPLETED, messages.stored_lines(record))
    return RunsStep(finished=True)


def _skip(record: ExchangeImport, import_type: str, reason: Exception) -> None:
    """A type with nothing to read in this exchange is left out, and the answer says so."""
    record.import_types = [key for key in record.import_types if key != import_type]
    record.message = [*messages.stored_lines(record), messages.stored(messages.type_not_run(import_type, reason))]
    _own_row(record).update(import_types=record.import_types, message=record.message)


def _adoptable(*, import_type: str, placed_at, remove_absent: bool) -> ImportSession | None:
    """A run of this type another `import` started after this file was laid out: it reads
    the file too, so it is followed instead of starting another (a file's runs and
    `deactivate`'s, which remove what is absent, are never taken for each other)."""
    sessions = ImportSession.objects.filter(
        import_type=import_type, started_by=ImportSession.StartedBy.EXCHANGE, created_at__gte=placed_at,
    )
    if import_type_spec(import_type).kinds:
        sessions = sessions.filter(parameters__remove_absent=remove_absent)
    return (
        sessions
        .exclude(status__in=(ImportSession.Status.FAILED, ImportSession.Status.CANCELLED))
        .order_by("-created_at").first()
    )


def _own_row(record: ExchangeImport):
    """The import's row while the run that read it still prepares it."""
    return ExchangeImport.objects.filter(pk=record.pk, flow_run_id=record.flow_run_id)


def _running(record: ExchangeImport, *, progress: Message | None) -> None:
    record.status, record.progress = ExchangeImport.Status.RUNNING, messages.stored(progress)
    _own_row(record).update(status=record.status, progress=record.progress)


def _finish(record: ExchangeImport, status: str, lines: list) -> None:
    """End the import: `lines` (Messages, or as stored) are what 1C is told besides its runs' counts."""
    record.status, record.message = status, [messages.stored(line) for line in lines]
    _own_row(record).update(status=status, message=record.message, progress=None, finished_at=timezone.now())
    logger.info("1C exchange #%s: import of %s %s: %s", record.exchange_id, record.filename, status,
                "; ".join(messages.english(line) for line in record.message))
