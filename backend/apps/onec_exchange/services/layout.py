"""Laying an exchange's files out: unpack the archives 1C sent and move the staged files
into the exchange directory (`ONEC_DATA_DIR`), where the import runs read them. Run by
the preparation flow on a worker (flows/onec_exchange.py), never by a web request: one
large entry takes longer to unpack than a poll may take to answer. What it has done is
recorded as it goes (each file's `placed_at`, each archive's `unpacked_entries`), so a
retried or restarted run goes on where the last one stopped.

The exchange directory is one for every 1C that exchanges with the site, and exchanges
of different users send files under the same names (goods/goods.xml): so exchanges take
turns. One run at a time moves files into it (`Exchange1C.moving_files`), and never over
a file another exchange laid out that its imports have not read yet (see
`exchange_files_in_use`): a file replaced before its import would be read as someone
else's, and 1C told `success` for their data. Two exchanges that each wait for a file the
other laid out would wait for ever: the later of them gives way (its import fails, 1C is
told to run the exchange again, and its files hold no one from then on)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, message_of
from apps.imports.selectors import import_session_active
from apps.media.error_details import error_detail
from ..models import Exchange1C, ExchangeFile, ExchangeImport
from ..selectors import exchange_batch
from . import messages, staging
from .receiving import exchange_staging_root
from .staging import ArchiveEntry, ArchiveLimits, StagingError

logger = logging.getLogger(__name__)

_XML_SUFFIX = ".xml"
FINISHED = (ExchangeImport.Status.COMPLETED, ExchangeImport.Status.FAILED)
# How long a run's claim on an exchange's files lasts without being renewed (a run that
# died frees them then); renewed while it works.
CLAIM_SECONDS = 120
# The most often an archive's progress is written to its import's row (and a claim renewed).
PROGRESS_INTERVAL_SECONDS = 1.0
# How long after its last request an exchange 1C has not closed keeps the files it laid
# out from being replaced by another's, its imports all ended: 1C asks for the next
# file's import within seconds; one that never says `complete` lets the others go then.
QUIET_SECONDS = 300


@dataclass(frozen=True)
class LayoutStep:
    """What laying out came to: done, or wait for the import session `wait_for` (it reads
    the exchange directory), or for the exchange `wait_for_exchange` (its imports have not
    read the files these would replace), or for another run moving files (`busy`)."""

    done: bool
    wait_for: int | None = None
    wait_for_exchange: int | None = None
    busy: bool = False


def exchange_files_lay_out(*, exchange_import_id: int, claimant: str) -> LayoutStep:
    """Unpack the received archives and move the staged files of the import's exchange
    (and of its user's earlier open ones) into the exchange directory. Nothing is unpacked
    or moved while an import holds the running slot: it reads the exchange directory (an
    admin or nightly run would lose the files a move evicts); nothing is moved over a file
    that another exchange's imports have not read yet. A file or archive that cannot be
    laid out is dropped (1C sends it again) and the import fails saying why."""
    record = ExchangeImport.objects.select_related("exchange").get(pk=exchange_import_id)
    if record.status in FINISHED:  # it gave way to another exchange while it waited
        return LayoutStep(done=True)
    if not _claim(record.exchange, claimant):
        return LayoutStep(done=False, busy=True)
    try:
        return _lay_out(record=record, claimant=claimant)
    except StagingError as exc:
        exchange_import_fail(exchange_import_id=record.pk, reason=message_of(exc), flow_run_id=claimant)
        return LayoutStep(done=True)
    finally:
        Exchange1C.objects.filter(pk=record.exchange_id, busy_by=claimant).update(
            busy_until=None, busy_by="", moving_files=None
        )


def exchange_files_in_use(*, exchange_id: int) -> bool:
    """Whether the files this exchange laid out may still be read by its own imports: one
    has not ended, or 1C is still talking (not closed, a request in the last
    QUIET_SECONDS: it may ask for another file's import), and it has not given way. Until
    then no other exchange's file replaces them."""
    return _exchanges_reading_their_files().filter(pk=exchange_id).exists()


def exchange_import_waits(*, exchange_import_id: int) -> bool:
    """Whether the exchange import still waits to be laid out (not failed meanwhile: a
    later exchange in a wait cycle with it is failed by whichever run finds the cycle)."""
    return ExchangeImport.objects.filter(pk=exchange_import_id).exclude(status__in=FINISHED).exists()


def _with_unfinished_import() -> Exists:
    """An exchange's condition: one of its imports has not ended."""
    return Exists(ExchangeImport.objects.filter(exchange=OuterRef("pk")).exclude(status__in=FINISHED))


def _exchanges_reading_their_files():
    talking = Q(closed_at__isnull=True, last_request_at__gte=timezone.now() - timedelta(seconds=QUIET_SECONDS))
    return Exchange1C.objects.filter(gave_way_at__isnull=True).filter(talking | Q(_with_unfinished_import()))


def _wait_cycle_latest(record: ExchangeImport, batch: list[int], holder_id: int) -> ExchangeImport | None:
    """When the exchange holding a file this batch needs waits, through the imports it waits
    for in turn, for a file of this batch: the import of the latest exchange in that cycle,
    which gives way. None when there is no cycle (waiting ends when the holder is done).
    Only an exchange with an unfinished import holds for good: one that holds because its
    1C is still talking lets go after QUIET_SECONDS, so a wait on it is no cycle."""
    holding = set(
        Exchange1C.objects.filter(gave_way_at__isnull=True).filter(_with_unfinished_import()).values_list("pk", flat=True)
    )
    chains = {holder_id: []}  # a holder reached, and the waiting imports that led to it
    frontier = [holder_id] if holder_id in holding else []
    while frontier:
        waiting = list(
            ExchangeImport.objects.filter(exchange_id__in=frontier, waiting_for__in=holding)
            .exclude(status__in=FINISHED).exclude(pk=record.pk).select_related("exchange__user", "waiting_for__user")
        )
        frontier = []
        for item in waiting:
            chain = [*chains[item.exchange_id], item]
            if item.waiting_for_id in batch:
                return max([record, *chain], key=lambda each: each.exchange_id)
            if item.waiting_for_id not in chains:
                chains[item.waiting_for_id] = chain
                frontier.append(item.waiting_for_id)
    return None


def exchange_import_asked(*, exchange: Exchange1C) -> None:
    """1C asked this exchange for an import (again): an exchange of its batch that gave way
    reads its files again, so they hold others again."""
    exchange_batch(exchange).filter(gave_way_at__isnull=False).update(gave_way_at=None)


def _give_way(loser: ExchangeImport, *, to: Exchange1C) -> None:
    """Fail the import of the later exchange of a wait cycle (`to` is the one it waits
    for) and free the files its exchange, with the earlier ones of its batch, laid out."""
    exchange_import_fail(exchange_import_id=loser.pk, reason=messages.gave_way(loser.filename, exchange_id=to.pk, user=str(to.user)))
    exchange_batch(loser.exchange).update(gave_way_at=timezone.now())
    logger.warning("1C exchange #%s gave way to #%s: each waited for the other's files", loser.exchange_id, to.pk)


def _file_in_use_elsewhere(batch: list[int]) -> ExchangeFile | None:
    """A file that another exchange laid out at a path this batch has yet to lay out, and
    whose imports may still read it."""
    waiting = ExchangeFile.objects.filter(exchange_id__in=batch, placed_at__isnull=True).values("path")
    return (
        ExchangeFile.objects.filter(path__in=waiting, placed_at__isnull=False, exchange__in=_exchanges_reading_their_files())
        .exclude(exchange_id__in=batch).exclude(is_archive=True)  # an unpacked archive is in no directory
        .select_related("exchange__user").first()
    )


def _directory_take(exchange: Exchange1C, claimant: str) -> bool:
    """The turn to move files into the exchange directory, for the run holding the
    exchange's claim; a turn whose run died (its claim lapsed) is taken back first."""
    Exchange1C.objects.filter(moving_files=True).filter(Q(busy_until__isnull=True) | Q(busy_until__lt=timezone.now())).update(
        moving_files=None
    )
    try:
        with transaction.atomic():
            return bool(Exchange1C.objects.filter(pk=exchange.pk, busy_by=claimant).update(moving_files=True))
    except IntegrityError:  # another exchange's run moves files now
        return False


def exchange_import_claim(*, exchange_import_id: int, flow_run_id) -> bool:
    """Whether this preparation run is the exchange import's: it takes an unclaimed one (a
    run that started before the poll that asked for it recorded its id). A run whose file
    was sent again meanwhile is not: the import started afresh with a run of its own, and
    the earlier run must neither fail nor finish it."""
    ExchangeImport.objects.filter(pk=exchange_import_id, flow_run_id__isnull=True).exclude(
        status__in=FINISHED
    ).update(flow_run_id=flow_run_id)
    return ExchangeImport.objects.filter(pk=exchange_import_id, flow_run_id=flow_run_id).exists()


def exchange_import_fail(*, exchange_import_id: int, reason: Message | str, flow_run_id=None) -> None:
    """End an unfinished exchange import `failed` with the reason 1C is told; with
    `flow_run_id`, only while that run prepares it (not once the file was sent again and
    a later run took over)."""
    records = ExchangeImport.objects.filter(pk=exchange_import_id).exclude(status__in=FINISHED)
    if flow_run_id is not None:
        records = records.filter(flow_run_id=flow_run_id)
    updated = records.update(
        status=ExchangeImport.Status.FAILED, message=[messages.stored(reason)], progress=None, finished_at=timezone.now()
    )
    if updated:
        logger.info("1C exchange import #%s failed: %s", exchange_import_id, reason)


def _claim(exchange: Exchange1C, claimant: str) -> bool:
    """One run at a time lays an exchange's files out (two files' runs may start at once)."""
    now = timezone.now()
    return bool(
        Exchange1C.objects.filter(pk=exchange.pk)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lt=now) | Q(busy_by=claimant))
        .update(busy_until=now + timedelta(seconds=CLAIM_SECONDS), busy_by=claimant)
    )


def _note(record: ExchangeImport, progress: Message, **fields) -> None:
    ExchangeImport.objects.filter(pk=record.pk).update(progress=messages.stored(progress), **fields)


def _lay_out(*, record: ExchangeImport, claimant: str) -> LayoutStep:
    limits = ArchiveLimits(
        max_entries=settings.ONEC_EXCHANGE_ZIP_MAX_ENTRIES,
        max_bytes=settings.ONEC_EXCHANGE_ZIP_MAX_BYTES,
        max_ratio=settings.ONEC_EXCHANGE_ZIP_MAX_RATIO,
    )
    data_dir = Path(settings.ONEC_DATA_DIR)
    batch = list(exchange_batch(record.exchange).values_list("pk", flat=True))
    # What it waited for is asked afresh below: an edge left from an earlier step would
    # make a cycle of a wait that is over.
    ExchangeImport.objects.filter(pk=record.pk, waiting_for__isnull=False).update(waiting_for=None)
    while True:
        pending = list(
            ExchangeFile.objects.filter(exchange_id__in=batch, placed_at__isnull=True).order_by("exchange_id", "id")[:1000]
        )
        if not pending:
            return LayoutStep(done=True)
        if active := import_session_active():
            _note(record, messages.waiting_before_layout(active))
            return LayoutStep(done=False, wait_for=active.pk)
        sources = {
            item.pk: staging.staging_resolve(exchange_staging_root(item.exchange_id), PurePosixPath(item.path))
            for item in pending
        }
        # Archives first: unpacking writes only to staging, and their entries are files to
        # lay out, so the check below sees every path the batch will lay out.
        if archive := next((item for item in pending if _is_archive(item, sources[item.pk])), None):
            if not _unpack(record=record, item=archive, source=sources[archive.pk], limits=limits, claimant=claimant):
                return LayoutStep(done=False, busy=True)  # an entry another process unpacks
            continue  # its entries are now files to lay out: list them again
        if not _directory_take(record.exchange, claimant):
            _note(record, messages.waiting_for_mover())
            return LayoutStep(done=False, busy=True)
        if (in_use := _file_in_use_elsewhere(batch)) is not None:
            if (loser := _wait_cycle_latest(record, batch, in_use.exchange_id)) is not None:
                _give_way(loser, to=in_use.exchange if loser.pk == record.pk else loser.waiting_for)
                if loser.pk == record.pk:
                    return LayoutStep(done=True)
                continue  # its files hold this batch no more
            _note(record, messages.waiting_for_exchange(
                exchange_id=in_use.exchange_id, user=str(in_use.exchange.user), path=in_use.path
            ), waiting_for=in_use.exchange_id)
            return LayoutStep(done=False, wait_for_exchange=in_use.exchange_id)
        _note(record, messages.moving_files(len(pending), more=len(pending) == 1000), waiting_for=None)
        moved: list[int] = []
        renewed = time.monotonic()
        try:
            for item in pending:
                source = sources[item.pk]
                if time.monotonic() - renewed >= PROGRESS_INTERVAL_SECONDS:  # a slow disk never lets the turn lapse
                    _claim(record.exchange, claimant)
                    renewed = time.monotonic()
                if not source.is_file():  # laid out by an earlier attempt that died before recording it
                    moved.append(item.pk)
                    continue
                _evict_stale(data_dir=data_dir, path=PurePosixPath(item.path))
                try:
                    staging.staging_move(source, staging.staging_resolve(data_dir, PurePosixPath(item.path)))
                except OSError as exc:  # dropped, so it never blocks a later exchange
                    logger.warning("1C exchange #%s: %s cannot be moved: %r", item.exchange_id, item.path, exc)
                    source.unlink(missing_ok=True)
                    item.delete()
                    raise StagingError(Message(
                        gettext_noop(
                            "%(path)s cannot be moved into the exchange directory (%(problem)s): "
                            "it was dropped; 1C should send it again, the site's log has the details"
                        ),
                        path=item.path, problem=error_detail(exc),
                    )) from None
                moved.append(item.pk)
        finally:
            ExchangeFile.objects.filter(pk__in=moved).update(placed_at=timezone.now())


def _is_archive(item: ExchangeFile, source: Path) -> bool:
    """Only a file 1C sent at the top of staging is an archive; an entry that came out of
    an archive (a nested .zip, a .docx picture attachment) never is: unpacking it would slip
    past the archive's size and ratio caps."""
    if item.from_archive or len(PurePosixPath(item.path).parts) != 1:
        return False
    return item.is_archive or staging.staging_is_archive(source)


def _unpack(*, record: ExchangeImport, item: ExchangeFile, source: Path, limits: ArchiveLimits, claimant: str) -> bool:
    """Unpack an archive's entries into its exchange's staging area, recording each as a
    file to lay out, and remove the archive; False when another process holds an entry.
    An archive that is refused, damaged or cannot be unpacked here (a name too long for
    the file system, a disk error, a record the database refuses) is removed, so it never
    blocks a later exchange and 1C's next attempt starts clean."""
    root = exchange_staging_root(item.exchange_id)
    noted = [0.0]

    def progress(done: int, entry: ArchiveEntry | None, written: int) -> None:
        now = time.monotonic()
        if entry is not None and now - noted[0] < PROGRESS_INTERVAL_SECONDS:
            return
        noted[0] = now
        large = entry is not None and entry.info.file_size >= 2**20
        _note(record, messages.unpacking(
            archive=item.name, done=done, total=len(entries), entry=entry.path if large else None, written=written,
            size=entry.info.file_size if large else 0,
        ))
        _claim(item.exchange, claimant)
        if entry is None:
            _record_entries(item=item, entries=entries, done=done)

    try:
        with staging.archive_checked(source, name=item.name, limits=limits) as opened:
            entries = opened.entries
            done = staging.archive_extract(
                archive=opened.archive, entries=entries, start=item.unpacked_entries, root=root, name=item.name,
                progress=progress,
            )
        _record_entries(item=item, entries=entries, done=done)
    except (StagingError, OSError, DatabaseError) as exc:
        logger.warning("1C exchange #%s: archive %s refused: %r", item.exchange_id, item.name, exc)
        source.unlink(missing_ok=True)
        ExchangeFile.objects.filter(pk=item.pk).delete()
        ExchangeFile.objects.filter(  # its entries recorded so far go with it
            exchange_id=item.exchange_id, from_archive=True, placed_at__isnull=True, name__startswith=f"{item.name}: "
        ).delete()
        if isinstance(exc, StagingError):
            raise
        problem = error_detail(exc) if isinstance(exc, OSError) else type(exc).__name__
        raise StagingError(Message(
            gettext_noop(
                "archive %(archive)s cannot be unpacked on the site (%(problem)s): it was dropped; "
                "1C should send it again, the site's log has the details"
            ),
            archive=item.name, problem=problem,
        )) from None
    if done < len(entries):
        return False
    source.unlink(missing_ok=True)  # every entry is staged: the archive has served
    return True


def _record_entries(*, item: ExchangeFile, entries: list[ArchiveEntry], done: int) -> None:
    """Record the entries unpacked since the last record as files to lay out; the archive
    counts as laid out once all are."""
    item.refresh_from_db(fields=["unpacked_entries"])
    new = entries[item.unpacked_entries:done]
    with transaction.atomic():
        ExchangeFile.objects.bulk_create(
            [
                ExchangeFile(
                    exchange_id=item.exchange_id, name=f"{item.name}: {entry.path}"[:1000],
                    path=str(entry.path), size=entry.info.file_size, from_archive=True,
                )
                for entry in new
            ],
            update_conflicts=True, unique_fields=["exchange", "path"],
            update_fields=["name", "size", "placed_at", "from_archive", "is_archive", "unpacked_entries"],
        )
        ExchangeFile.objects.filter(pk=item.pk).update(
            is_archive=True, unpacked_entries=done, placed_at=timezone.now() if done >= len(entries) else None
        )
    item.unpacked_entries = done


def _evict_stale(*, data_dir: Path, path: PurePosixPath) -> None:
    """Before an exchange XML is laid out: remove the XML of its folder that an earlier,
    closed exchange brought (its imports finished), so old parts are never read again;
    XML put there by hand is moved aside into the staging directory, not deleted."""
    if path.suffix.lower() != _XML_SUFFIX or path.parts[0] == staging.PICTURES_HOME.name and len(path.parts) > 2:
        return
    folder = data_dir / path.parent
    if not folder.is_dir():
        return
    existing = {p.name: p for p in folder.glob("*.xml") if p.is_file()}
    existing.pop(path.name, None)  # replaced by the move itself
    if not existing:
        return
    relative = {str(path.parent / name) if str(path.parent) != "." else name: name for name in existing}
    records = ExchangeFile.objects.filter(path__in=relative, placed_at__isnull=False).select_related("exchange")
    keep, recorded = set(), set()
    idle_since = timezone.now() - Exchange1C.IDLE_LIMIT
    for item in records:
        recorded.add(item.path)
        exchange = item.exchange
        closed = exchange.closed_at or (exchange.last_request_at and exchange.last_request_at < idle_since)
        if not closed or exchange.imports.exclude(status__in=FINISHED).exists():
            keep.add(item.path)
    aside = Path(settings.ONEC_EXCHANGE_STAGING_DIR) / "superseded" / timezone.now().strftime("%Y%m%dT%H%M%S")
    for rel, name in relative.items():
        if rel in keep:
            continue
        if rel in recorded:
            existing[name].unlink(missing_ok=True)
        else:
            staging.staging_move(existing[name], aside / rel)
            logger.warning("1C exchange: %s was not sent over HTTP; moved aside to %s", existing[name], aside / rel)
