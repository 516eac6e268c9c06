"""The exchange's state machine as 1C polls it: `import` of a file and `deactivate`
(answered `progress`, then `success` or `failure`) and `complete`.

A poll does no work and starts no thread: it reads the exchange import's row and its
import sessions and answers from them, within a fraction of a second. When there is
work to do (files to unpack and lay out, import runs to start and follow) and no
preparation run was asked for, the poll creates one: a run of the Prefect deployment
`prepare-exchange-import/onec-exchange` (flows/onec_exchange.py) on the `onec-imports`
pool, whose retried tasks write what they do to the row. `success` comes only after
every run completed; `failure` says why. A file sent again after its import finished is
imported again.
"""
from __future__ import annotations

import logging
import shutil
import time
from pathlib import PurePosixPath

from django.db.models import Q
from django.utils import timezone

from apps.i18n.messages import message_of
from apps.imports.import_types import import_type_specs
from apps.imports.models import ImportSession
from apps.imports.prefect_api.runs import prefect_deployment_run_create_within
from ..exceptions import ExchangeRefusedError
from ..models import Exchange1C, ExchangeImport
from ..selectors import exchange_batch, exchange_files_waiting, exchange_placed_file
from . import messages, staging
from .answers import ExchangeAnswer, answer_failure, answer_progress, answer_success
from .layout import FINISHED, exchange_import_asked
from .receiving import exchange_staging_root
from .runs import DEACTIVATE_PATH, exchange_import_types
from .staging import StagingError

logger = logging.getLogger(__name__)

PREPARE_DEPLOYMENT = "prepare-exchange-import/onec-exchange"
# An answer slower than this is logged (1C's proxy may time out; 1C is promised 2 s).
SLOW_ANSWER_SECONDS = 1.5
# The Prefect requests that ask for the preparation run (the deployment's lookup, the
# client's CSRF question, the run's creation) get at most this long in all, so the poll
# answers within 1C's 2 s even when the server is busy (the rest is the poll's own work);
# a later poll asks again. The first request may wait 0.6 s for its answer.
PREFECT_REQUEST_SECONDS = 1.2


def exchange_import(*, exchange: Exchange1C, filename: str | None) -> ExchangeAnswer:
    """One `import` call: what the file's exchange import is doing, from the database; the
    first call (and the first after the file, or an archive that may hold it, was sent
    again after its import ended) asks Prefect for the run that prepares it. Never
    answers `success` before every run completed."""
    if exchange.exchange_type == Exchange1C.Type.SALE:
        return answer_success()
    try:
        path = staging.staging_layout_path(filename or "")
    except StagingError as exc:
        raise ExchangeRefusedError(message_of(exc)) from None
    started = time.monotonic()
    try:
        record = ExchangeImport.objects.filter(exchange=exchange, path=str(path)).first()
        waiting = exchange_files_waiting(exchange=exchange, path=path)
        if record is None:
            if not waiting.exists() and exchange_placed_file(exchange=exchange, path=path) is None:
                raise ExchangeRefusedError(messages.never_sent(filename, path))
            exchange_import_asked(exchange=exchange)
            record, _ = ExchangeImport.objects.get_or_create(
                exchange=exchange, path=str(path),
                defaults={"filename": (filename or "")[:1000], "import_types": exchange_import_types(path)},
            )
        elif record.status in FINISHED and waiting.filter(received_at__gt=record.finished_at).exists():
            record = _import_again(record)
        return _answer(record)
    finally:
        if (seconds := time.monotonic() - started) > SLOW_ANSWER_SECONDS:
            logger.warning("1C exchange #%s: import of %s took %.1f s to answer", exchange.pk, filename, seconds)


def exchange_deactivate(*, exchange: Exchange1C) -> ExchangeAnswer:
    """`deactivate`, 1C's word that a full exchange is all there: run again, with
    removal, each exchange import type this exchange (and the user's earlier open ones:
    the sessions of one per-file exchange) ran; they re-read every file and remove what
    1C no longer sends (only where every file says it is a full exchange). Answered like
    `import` (`progress`, then `success` or `failure`); `complete`, which follows, closes
    the exchange (closing it here would refuse that `complete`)."""
    if exchange.exchange_type == Exchange1C.Type.SALE:
        return answer_success()
    record = ExchangeImport.objects.filter(exchange=exchange, path=DEACTIVATE_PATH).first()
    if record is None:
        ran = {
            key
            for types in ExchangeImport.objects.filter(exchange__in=exchange_batch(exchange))
            .exclude(path=DEACTIVATE_PATH).values_list("import_types", flat=True)
            for key in types
        }
        types = [spec.key for spec in import_type_specs() if spec.kinds and spec.key in ran]
        record, _ = ExchangeImport.objects.get_or_create(
            exchange=exchange, path=DEACTIVATE_PATH,
            defaults={
                "filename": "mode=deactivate", "import_types": types,
                "message": [] if types else [messages.stored(messages.nothing_to_deactivate())],
            },
        )
    return _answer(record)


def _import_again(record: ExchangeImport) -> ExchangeImport:
    """1C sent the file again after its import ended (its retry, or a later part under
    the same name): what that import ran or answered was about the earlier file, so the
    import starts afresh (its earlier sessions stay in the admin's session list)."""
    logger.info("1C exchange #%s: %s was sent again: imported again", record.exchange_id, record.filename)
    record.sessions.clear()
    exchange_import_asked(exchange=record.exchange)
    ExchangeImport.objects.filter(pk=record.pk).update(
        status=ExchangeImport.Status.PREPARING, message=[], progress=None, finished_at=None, created_at=timezone.now(),
        import_types=exchange_import_types(PurePosixPath(record.path)), flow_run_id=None, waiting_for=None,
    )
    return ExchangeImport.objects.get(pk=record.pk)


def _answer(record: ExchangeImport) -> ExchangeAnswer:
    """The answer the row and its sessions give; asks for the preparation run first if
    none was asked for."""
    if record.status == ExchangeImport.Status.FAILED:
        return answer_failure("\n".join(messages.result_lines(record)))
    if record.status == ExchangeImport.Status.COMPLETED:
        return answer_success(*messages.result_lines(record))
    if record.flow_run_id is None:
        try:
            flow_run_id = prefect_deployment_run_create_within(
                name=PREPARE_DEPLOYMENT,
                parameters={"exchange_import_id": record.pk},
                idempotency_key=f"onec-exchange-import-{record.pk}-{record.created_at.timestamp()}",
                seconds=PREFECT_REQUEST_SECONDS,
            )
        except Exception as exc:  # Prefect down or not deployed: 1C is told, a later poll tries again
            logger.warning("1C exchange import #%s: no preparation run: %r", record.pk, exc)
            return answer_failure(messages.could_not_ask_prefect(record.filename or "deactivate", exc))
        if flow_run_id is None:  # a busy Prefect server: the poll answers in time, the next one asks again
            return answer_progress(messages.handing_to_prefect(record.filename))
        progress = messages.waiting_for_preparation(record.filename, flow_run_id)
        ExchangeImport.objects.filter(pk=record.pk, flow_run_id__isnull=True).update(
            flow_run_id=flow_run_id, progress=messages.stored(progress)
        )
        return answer_progress(progress)
    active = record.sessions.filter(
        status__in=ImportSession.ACTIVE_STATUSES
    ).order_by("-pk").first()
    if active is not None:
        return answer_progress(messages.session_progress(active))
    return answer_progress(record.progress or messages.starting_next_import(record.filename))


def exchange_close(*, exchange: Exchange1C) -> ExchangeAnswer:
    """`complete`: close this exchange and the user's earlier ones that ended before it
    began (newer 1C says it once for an exchange of many sessions; one still talking, from
    another 1C base, stays open); clear the staging areas whose imports all finished."""
    now = timezone.now()
    mine = Exchange1C.objects.filter(
        Q(pk=exchange.pk) | Q(user=exchange.user, pk__lt=exchange.pk, last_request_at__lt=exchange.created_at),
        exchange_type=exchange.exchange_type,
    )
    mine.filter(closed_at__isnull=True).update(closed_at=now)
    for item in mine.filter(staging_cleared=False):
        unfinished = item.imports.exclude(status__in=FINISHED).exists()
        unplaced = item.files.filter(placed_at__isnull=True).exists()
        if not unfinished and not unplaced:
            shutil.rmtree(exchange_staging_root(item.pk), ignore_errors=True)
            Exchange1C.objects.filter(pk=item.pk).update(staging_cleared=True)
    return answer_success()
