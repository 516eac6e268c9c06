"""The 1C site exchange over HTTP (`/1c/exchange`), as 1C speaks it: checkauth, init,
file, import (polled), deactivate, complete; `type=sale` answered harmlessly.

An exchange (`Exchange1C`) is opened by `checkauth`. Its files are written to a staging
directory of its own (`ONEC_EXCHANGE_STAGING_DIR/<id>/`, laid out as the importers read
them, see `staging`). The first `import` of a file unpacks any archive received, moves
the staged files into the exchange directory (`ONEC_DATA_DIR`) and starts, through the
launch service, each import type that reads the file's kind (from the import-type
registry); every `import` call then answers within about a second: `progress` while
files are unpacked or moved, while a run waits for another import or runs; `success`
once every run completed; `failure` with the reason if one failed or was cancelled.
A run that ended in Prefect without telling us (a dead worker) is settled from Prefect's
state before 1C is answered, so 1C never hears `progress` for ever. A file sent again
after its import was asked for is imported again.

Newer 1C opens a new exchange for every file; files of earlier exchanges of the same
user that were not laid out yet are carried over, so nothing sent is lost. Exchange XML
stays in the exchange directory until a later exchange brings files of the same folder
after 1C closed the earlier one (`complete`) and its imports finished. A file's runs
never remove what a full exchange lacks (they may see one part of many): `deactivate`
runs the exchange's import types again with removal once every part is there; a file's
runs read only the files no earlier run read since they were laid out.
"""
from __future__ import annotations

import contextvars
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeoutError
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import DatabaseError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from commerceml.reader import EXCHANGE_KINDS
from apps.imports.exceptions import ExchangeDirectoryError, ImportNotStartedError
from apps.imports.import_types import import_type_spec, import_type_specs
from apps.imports.models import ImportSession
from ..models import Exchange1C, ExchangeAuthFailure, ExchangeFile, ExchangeImport
from apps.imports.selectors import import_session_active
from . import staging
from apps.imports.services.launch import import_launch_slot_holder, import_session_launch
from apps.imports.services.reconcile import import_sessions_reconcile
from .staging import ArchiveLimits, StagingError

logger = logging.getLogger(__name__)

PERMISSION = "integrations.exchange_1c"
COOKIE_NAME = "onec_exchange"
# An exchange's token stops working after this long without a request; such an exchange
# also counts as closed (1C gave up on it).
EXCHANGE_IDLE_LIMIT = timedelta(hours=24)
# The most one `import` call spends unpacking or moving files before answering `progress`,
# and the most it waits for Prefect to start a run. Below 1 s: the first call of a large
# archive also reads its directory (30,000 entries) before that, and answers stay under 2 s.
WORK_SECONDS = 0.75
ANSWER_SECONDS = 1.5
# An `import` answer slower than this is logged (1C's proxy may time out).
SLOW_ANSWER_SECONDS = 1.5
# A piece whose first bytes equal the staged file's first bytes is the file sent again.
RESEND_HEAD_BYTES = 64
_MIN_RESEND_HEAD_BYTES = 16
_XML_SUFFIX = ".xml"
# The ExchangeImport of `deactivate` (no file's path is empty).
DEACTIVATE_PATH = ""
# The most an `import` call waits for Prefect's word on a run that may have ended.
SETTLE_SECONDS = 0.5
_FINISHED = (ExchangeImport.Status.COMPLETED, ExchangeImport.Status.FAILED)

# Starting a run and reading a run's state ask Prefect: a busy server can take seconds,
# so that happens apart from the request, which answers in time either way. One reading
# of the runs' states at a time per process (`_settling`).
_LAUNCHER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="onec-exchange-launch")
_settling: Future | None = None
_settling_lock = threading.Lock()


class ExchangeRefusedError(Exception):
    """A request that is answered `failure`; the message says why and what to do."""


@dataclass(frozen=True)
class ExchangeAnswer:
    """What 1C is told: `success`, `progress` or `failure`, and the lines after it."""

    status: str
    lines: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join((self.status, *self.lines))


def _success(*lines: str) -> ExchangeAnswer:
    return ExchangeAnswer("success", tuple(lines))


def _progress(*lines: str) -> ExchangeAnswer:
    return ExchangeAnswer("progress", tuple(lines))


def _failure(reason: str) -> ExchangeAnswer:
    return ExchangeAnswer("failure", (reason,))


# --- authentication -----------------------------------------------------------------------


def exchange_checkauth(
    *, username: str | None, password: str | None, client_ip: str | None, exchange_type: str
) -> Exchange1C:
    """Open an exchange for a user with the exchange permission (superusers have it).

    Refused (and recorded, and logged) without credentials, with a wrong password or
    without the permission; refused without a record while the client address is locked
    out after ONEC_EXCHANGE_AUTH_MAX_FAILURES failures in ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES.
    """
    minutes = settings.ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES
    # The attempt is recorded as a failure before the failures are counted and the password
    # checked, so attempts made at once count each other; a login that succeeds drops it.
    attempt = ExchangeAuthFailure.objects.create(
        client_ip=client_ip, username=(username or "")[:150], reason="login being checked"
    )
    recent = ExchangeAuthFailure.objects.filter(
        client_ip=client_ip, created_at__gte=timezone.now() - timedelta(minutes=minutes)
    ).exclude(pk=attempt.pk).count()
    if recent >= settings.ONEC_EXCHANGE_AUTH_MAX_FAILURES:
        attempt.delete()
        logger.warning("1C exchange: login from %s refused, locked out after %d failures", client_ip, recent)
        raise ExchangeRefusedError(
            f"too many failed logins from {client_ip}: locked out for {minutes} minutes "
            "(ONEC_EXCHANGE_AUTH_MAX_FAILURES / ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES)"
        )
    if not username:
        reason = "no HTTP Basic credentials: set the user name and password in 1C's exchange settings"
        _auth_failed(attempt, reason, answer=reason)
    user = authenticate(username=username, password=password or "")
    if user is None:
        _auth_failed(attempt, "wrong user name or password (or the user is inactive)")
    if not user.has_perm(PERMISSION):
        _auth_failed(
            attempt,
            f"user {username!r} may not exchange with the site: give them the permission "
            f"«Может выполнять обмен с сайтом из 1С» ({PERMISSION}) in the admin",
        )
    attempt.delete()
    exchange = Exchange1C.objects.create(
        user=user, exchange_type=exchange_type, client_ip=client_ip,
        token=secrets.token_hex(32), last_request_at=timezone.now(),
    )
    logger.info("1C exchange #%s opened by %s from %s", exchange.pk, username, client_ip)
    return exchange


# What a caller is told for a wrong password and for a user without the permission alike:
# an anonymous caller must not learn that a password is right; the reason is logged and
# recorded (ExchangeAuthFailure.reason).
REFUSED_LOGIN = (
    "login refused: wrong user name or password, or the user may not exchange with the site "
    "(the site's log and «Отказы во входе для обмена с 1С» in the admin say which)"
)


def _auth_failed(attempt: ExchangeAuthFailure, reason: str, *, answer: str = REFUSED_LOGIN):
    ExchangeAuthFailure.objects.filter(pk=attempt.pk).update(reason=reason[:200])
    logger.warning("1C exchange: login %r from %s refused: %s", attempt.username, attempt.client_ip, reason)
    raise ExchangeRefusedError(answer)


def exchange_by_token(*, token: str | None) -> Exchange1C:
    """The open exchange whose cookie (or sessid) this is; it records the request."""
    exchange = Exchange1C.objects.filter(token=token).select_related("user").first() if token else None
    now = timezone.now()
    if exchange is None:
        raise ExchangeRefusedError("no exchange session: call mode=checkauth first and send its cookie")
    if exchange.closed_at or (exchange.last_request_at and exchange.last_request_at < now - EXCHANGE_IDLE_LIMIT):
        raise ExchangeRefusedError(f"exchange #{exchange.pk} is closed: call mode=checkauth again")
    Exchange1C.objects.filter(pk=exchange.pk).update(last_request_at=now)
    return exchange


def exchange_checkauth_answer(exchange: Exchange1C) -> ExchangeAnswer:
    return _success(COOKIE_NAME, exchange.token, f"sessid={exchange.token}", f"timestamp={int(time.time())}")


def exchange_init_answer(*, exchange: Exchange1C, version: str | None) -> ExchangeAnswer:
    """Our limits: archives welcome, pieces of at most ONEC_EXCHANGE_FILE_LIMIT bytes."""
    lines = ["zip=yes", f"file_limit={settings.ONEC_EXCHANGE_FILE_LIMIT}"]
    if version:
        lines += [f"sessid={exchange.token}", f"version={version}"]
    return ExchangeAnswer(lines[0], tuple(lines[1:]))


# --- files --------------------------------------------------------------------------------


def _staging_root(exchange_id: int) -> Path:
    return Path(settings.ONEC_EXCHANGE_STAGING_DIR) / str(exchange_id)


def exchange_file_receive(*, exchange: Exchange1C, name: str | None, chunks: Iterator[bytes]) -> ExchangeFile | None:
    """Append a piece of a file to the exchange's staging area, streamed.

    The first piece of a name in an exchange starts the file afresh, as does a piece
    that begins with the staged file's first bytes (1C sending it again from its start).
    Orders (`type=sale`) are not this product's job: their files are read and dropped.
    """
    if exchange.exchange_type == Exchange1C.Type.SALE:
        for _ in chunks:
            pass
        return None
    try:
        path = staging.staging_layout_path(name or "")
        target = staging.staging_resolve(_staging_root(exchange.pk), path)
    except StagingError as exc:
        raise ExchangeRefusedError(str(exc)) from None
    first = next(chunks, b"")
    record = ExchangeFile.objects.filter(exchange=exchange, path=str(path)).first()
    head = first[:RESEND_HEAD_BYTES]
    replace = (
        record is None or record.placed_at is not None
        or (len(head) >= _MIN_RESEND_HEAD_BYTES and staging.staging_starts_with(target, head))
    )
    size = staging.staging_write(target=target, chunks=_chain(first, chunks), replace=replace)
    fields = {"name": name[:1000], "size": size, "placed_at": None, "from_archive": False}
    if replace:
        fields.update(is_archive=False, unpacked_entries=0)
    record, _ = ExchangeFile.objects.update_or_create(exchange=exchange, path=str(path), defaults=fields)
    return record


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


# --- import -------------------------------------------------------------------------------


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


def exchange_import(*, exchange: Exchange1C, filename: str | None) -> ExchangeAnswer:
    """One `import` call: prepare the files (within WORK_SECONDS), then start or follow
    the file's import runs. Never answers `success` before every run completed."""
    if exchange.exchange_type == Exchange1C.Type.SALE:
        return _success()
    try:
        path = staging.staging_layout_path(filename or "")
    except StagingError as exc:
        raise ExchangeRefusedError(str(exc)) from None
    if not _claim(exchange):
        return _progress(f"{filename}: the previous request for this exchange is still working")
    started, handover = time.monotonic(), []
    try:
        _settle_ended_runs(wait_until=started + SETTLE_SECONDS)
        deadline = started + WORK_SECONDS
        waiting = _prepare(exchange=exchange, deadline=deadline)
        if waiting:
            return _progress(waiting)
        placed = _placed_file(exchange=exchange, path=path)
        if placed is None:
            raise ExchangeRefusedError(
                f"{filename} was never sent in this exchange (looked for {path}): send it with mode=file first"
            )
        record, _ = ExchangeImport.objects.get_or_create(
            exchange=exchange, path=str(path),
            defaults={"filename": (filename or "")[:1000], "import_types": exchange_import_types(path)},
        )
        if placed.placed_at > record.created_at:
            record = _import_again(record)
        return _advance(record=record, placed_at=placed.placed_at, answer_by=started + ANSWER_SECONDS, handover=handover)
    finally:
        if handover:  # a run is still being started: its thread frees the exchange when done
            request_thread = threading.get_ident()
            handover[0].add_done_callback(lambda _: _release_from(exchange, request_thread))
        else:
            _release(exchange)
        if (seconds := time.monotonic() - started) > SLOW_ANSWER_SECONDS:
            logger.warning("1C exchange #%s: import of %s took %.1f s to answer", exchange.pk, filename, seconds)


def _settle_ended_runs(*, wait_until: float) -> None:
    """Before 1C is told an import waits or runs: settle the session holding the running
    slot if its Prefect run ended without telling us (a worker that died, a run cancelled
    or crashed in Prefect), so 1C hears `failure` (or its turn comes) instead of
    `progress` for ever. Prefect is asked apart from the request, which waits for the
    answer until `wait_until` (time.monotonic()) and otherwise goes on with what it knows."""
    global _settling
    if import_session_active() is None:
        return
    with _settling_lock:
        if _settling is None or _settling.done():
            _settling = _LAUNCHER.submit(contextvars.copy_context().run, _settle_in_thread)
        settling = _settling
    try:
        settling.result(timeout=max(0.0, wait_until - time.monotonic()))
    except FuturesTimeoutError:
        pass


def _settle_in_thread() -> None:
    try:
        import_sessions_reconcile()
    finally:
        connections.close_all()  # this thread's own connection


def _import_again(record: ExchangeImport) -> ExchangeImport:
    """1C sent the file again after its import was asked for (its retry, or a later part
    under the same name): what that import ran or answered was about the earlier file, so
    the import starts afresh (its earlier sessions stay in the admin's session list)."""
    logger.info("1C exchange #%s: %s was sent again: imported again", record.exchange_id, record.filename)
    record.sessions.clear()
    ExchangeImport.objects.filter(pk=record.pk).update(
        status=ExchangeImport.Status.PREPARING, message="", finished_at=None, created_at=timezone.now(),
        import_types=exchange_import_types(PurePosixPath(record.path)),
    )
    return ExchangeImport.objects.get(pk=record.pk)


def _claim(exchange: Exchange1C) -> bool:
    """One request at a time works on an exchange's files (1C may retry a slow request)."""
    now = timezone.now()
    return bool(
        Exchange1C.objects.filter(pk=exchange.pk)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lt=now))
        .update(busy_until=now + timedelta(seconds=30))
    )


def _release(exchange: Exchange1C) -> None:
    Exchange1C.objects.filter(pk=exchange.pk).update(busy_until=None)


def _release_from(exchange: Exchange1C, request_thread: int) -> None:
    """Free the exchange once its run was started; in the launching thread (not the
    request's, when the run was started just as the request let go), close its connection."""
    try:
        _release(exchange)
    finally:
        if threading.get_ident() != request_thread:
            connections.close_all()


def _batch_exchanges(exchange: Exchange1C):
    """This exchange and the earlier ones of its user whose files may not be laid out yet
    (newer 1C sends every file in an exchange of its own). Exchanges 1C closed or gave up
    (idle for EXCHANGE_IDLE_LIMIT) belong to an earlier exchange: their files stay in
    staging, never mixed into this one."""
    earlier = Q(
        user=exchange.user, pk__lt=exchange.pk, last_request_at__lt=exchange.created_at,
        last_request_at__gte=timezone.now() - EXCHANGE_IDLE_LIMIT, closed_at__isnull=True,
    )
    return Exchange1C.objects.filter(Q(pk=exchange.pk) | earlier, exchange_type=Exchange1C.Type.CATALOG, staging_cleared=False)


def _placed_file(*, exchange: Exchange1C, path: PurePosixPath) -> ExchangeFile | None:
    """The latest laid-out file at `path` sent in this exchange or an earlier open one of its user."""
    return (
        ExchangeFile.objects.filter(path=str(path), placed_at__isnull=False)
        .filter(Q(exchange=exchange) | Q(exchange__user=exchange.user, exchange__closed_at__isnull=True))
        .order_by("-placed_at").first()
    )


def _prepare(*, exchange: Exchange1C, deadline: float) -> str:
    """Unpack received archives and move staged files into the exchange directory, until
    `deadline`; returns what is left to do ("" when done). Nothing is unpacked or moved
    while an import holds the running slot: it reads the exchange directory (an admin or
    nightly run would lose the files a move evicts)."""
    limits = ArchiveLimits(
        max_entries=settings.ONEC_EXCHANGE_ZIP_MAX_ENTRIES,
        max_bytes=settings.ONEC_EXCHANGE_ZIP_MAX_BYTES,
        max_ratio=settings.ONEC_EXCHANGE_ZIP_MAX_RATIO,
    )
    data_dir = Path(settings.ONEC_DATA_DIR)
    batch = list(_batch_exchanges(exchange).values_list("pk", flat=True))
    while True:
        pending = list(
            ExchangeFile.objects.filter(exchange_id__in=batch, placed_at__isnull=True).order_by("exchange_id", "id")[:1000]
        )
        if not pending:
            return ""
        if active := import_session_active():
            return f"waiting for import #{active.pk} ({active}) before laying the files out"
        moved: list[int] = []
        try:
            for record in pending:
                if time.monotonic() >= deadline:
                    return f"moving files into the exchange directory: {len(pending) - len(moved)}+ left"
                source = staging.staging_resolve(_staging_root(record.exchange_id), PurePosixPath(record.path))
                if _is_archive(record, source):
                    left = _unpack(record=record, source=source, limits=limits, deadline=deadline)
                    if left:
                        return left
                    continue
                if not source.is_file():  # re-laid-out by an earlier request that died
                    moved.append(record.pk)
                    continue
                _evict_stale(data_dir=data_dir, path=PurePosixPath(record.path))
                try:
                    staging.staging_move(source, staging.staging_resolve(data_dir, PurePosixPath(record.path)))
                except OSError as exc:  # dropped, so it never blocks a later exchange
                    logger.warning("1C exchange #%s: %s cannot be moved: %r", record.exchange_id, record.path, exc)
                    source.unlink(missing_ok=True)
                    record.delete()
                    raise StagingError(
                        f"{record.path} cannot be moved into the exchange directory ({exc.strerror or type(exc).__name__}): "
                        "it was dropped; 1C should send it again, the site's log has the details"
                    ) from None
                moved.append(record.pk)
        except StagingError as exc:
            raise ExchangeRefusedError(str(exc)) from None
        finally:
            ExchangeFile.objects.filter(pk__in=moved).update(placed_at=timezone.now())


def _is_archive(record: ExchangeFile, source: Path) -> bool:
    """Only a file 1C sent at the top of staging is an archive; an entry that came out of
    an archive (a nested .zip, a .docx picture attachment) never is: unpacking it would slip
    past the archive's size and ratio caps."""
    if record.from_archive or len(PurePosixPath(record.path).parts) != 1:
        return False
    return record.is_archive or staging.staging_is_archive(source)


def _unpack(*, record: ExchangeFile, source: Path, limits: ArchiveLimits, deadline: float) -> str:
    """Unpack an archive's next entries into its exchange's staging area, recording each
    as a file to lay out; returns what is left ("" when the archive is done). An archive
    that is refused, damaged or cannot be unpacked here (a name too long for the file
    system, a disk error, a record the database refuses) is removed, so it never blocks
    a later exchange and 1C's next attempt starts clean."""
    root = _staging_root(record.exchange_id)
    try:
        with staging.archive_checked(source, name=record.name, limits=limits) as opened:
            entries = opened.entries
        done = staging.archive_extract(
            source=source, entries=entries, start=record.unpacked_entries, root=root, deadline=deadline,
            name=record.name, limits=limits,
        )
        new = entries[record.unpacked_entries:done]
        finished = done >= len(entries)
        with transaction.atomic():
            ExchangeFile.objects.bulk_create(
                [
                    ExchangeFile(
                        exchange_id=record.exchange_id, name=f"{record.name}: {entry.path}"[:1000],
                        path=str(entry.path), size=entry.info.file_size, from_archive=True,
                    )
                    for entry in new
                ],
                update_conflicts=True, unique_fields=["exchange", "path"],
                update_fields=["name", "size", "placed_at", "from_archive", "is_archive", "unpacked_entries"],
            )
            ExchangeFile.objects.filter(pk=record.pk).update(
                is_archive=True, unpacked_entries=done, placed_at=timezone.now() if finished else None
            )
    except (StagingError, OSError, DatabaseError) as exc:
        logger.warning("1C exchange #%s: archive %s refused: %r", record.exchange_id, record.name, exc)
        staging.archive_forget(source)
        source.unlink(missing_ok=True)
        ExchangeFile.objects.filter(pk=record.pk).delete()
        if isinstance(exc, StagingError):
            raise
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise StagingError(
            f"archive {record.name} cannot be unpacked on the site ({problem}): it was dropped; "
            "1C should send it again, the site's log has the details"
        ) from None
    if finished:
        staging.archive_forget(source)
        source.unlink(missing_ok=True)  # every entry is staged: the archive has served
        return ""
    entry = entries[done]
    left = f"unpacking {record.name}: {done} of {len(entries)} files"
    if entry.info.file_size < 2**20:
        return left
    unpacked = staging.archive_unpacking_bytes(root=root, entry=entry)
    return f"{left} ({entry.path}: {unpacked // 2**20} of {entry.info.file_size // 2**20} MB)"


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
    idle_since = timezone.now() - EXCHANGE_IDLE_LIMIT
    for record in records:
        recorded.add(record.path)
        exchange = record.exchange
        closed = exchange.closed_at or (exchange.last_request_at and exchange.last_request_at < idle_since)
        if not closed or exchange.imports.exclude(status__in=_FINISHED).exists():
            keep.add(record.path)
    aside = Path(settings.ONEC_EXCHANGE_STAGING_DIR) / "superseded" / timezone.now().strftime("%Y%m%dT%H%M%S")
    for rel, name in relative.items():
        if rel in keep:
            continue
        if rel in recorded:
            existing[name].unlink(missing_ok=True)
        else:
            staging.staging_move(existing[name], aside / rel)
            logger.warning("1C exchange: %s was not sent over HTTP; moved aside to %s", existing[name], aside / rel)



def _advance(*, record: ExchangeImport, placed_at, answer_by: float = 0.0, handover: list | None = None) -> ExchangeAnswer:
    """Start or follow the import's runs, one type after the other. A run is started in a
    thread of its own: the answer waits for it until `answer_by` (time.monotonic()) and
    then says `progress`, the thread going on and freeing the exchange when done (`handover`)."""
    if record.status == ExchangeImport.Status.FAILED:
        return _failure(record.message)
    if record.status == ExchangeImport.Status.COMPLETED:
        return _success(*record.message.splitlines())
    if not record.import_types:
        return _finish(
            record, ExchangeImport.Status.COMPLETED, record.message or f"{record.filename}: received, nothing to import from it"
        )
    sessions = {session.import_type: session for session in record.sessions.all()}
    remove_absent = record.path == DEACTIVATE_PATH
    for import_type in record.import_types:
        session = sessions.get(import_type) or _adoptable(
            import_type=import_type, placed_at=placed_at, remove_absent=remove_absent
        )
        if session is None:
            # The caller's context goes along (Prefect's settings live in context variables).
            future = _LAUNCHER.submit(
                contextvars.copy_context().run, _launch,
                record_id=record.pk, import_type=import_type, remove_absent=remove_absent,
            )
            try:
                answer = future.result(timeout=max(0.1, answer_by - time.monotonic()))
            except FuturesTimeoutError:
                if handover is None:
                    answer = future.result()
                else:
                    handover.append(future)
                    return _progress(f"{_label(import_type)}: asking Prefect for a run")
            if answer is not None:
                return answer
            record = ExchangeImport.objects.select_related("exchange__user").get(pk=record.pk)
            return _advance(record=record, placed_at=placed_at, answer_by=answer_by, handover=handover)
        if import_type not in sessions:
            record.sessions.add(session)
            _running(record)
        if session.is_active:
            return _progress(_session_progress(session))
        if session.status != ImportSession.Status.COMPLETED:
            return _finish(
                record, ExchangeImport.Status.FAILED,
                f"{_label(import_type)} #{session.pk} {session.get_status_display().lower()}: "
                f"{session.error_message or 'see the session in the admin'}",
            )
    summary = [_session_summary(session) for session in record.sessions.order_by("pk")]
    return _finish(record, ExchangeImport.Status.COMPLETED, "\n".join([*summary, *record.message.splitlines()]))



def _launch(*, record_id: int, import_type: str, remove_absent: bool) -> ExchangeAnswer | None:
    """Start the import type's run for the exchange import and record the outcome: the
    session joins the import (None: go on), the type is left out for lack of files (None),
    the slot is taken (a `progress` answer; tried again at the next call), or the import
    fails with the reason (its `failure` answer). Only `deactivate`'s runs remove what a
    full exchange no longer has (`remove_absent`): a file's run may see one part of many."""
    try:
        record = ExchangeImport.objects.select_related("exchange__user").get(pk=record_id)
        try:
            session = import_session_launch(
                import_type=import_type, user=record.exchange.user, started_by=ImportSession.StartedBy.EXCHANGE,
                remove_absent=remove_absent,
            )
        except ImportNotStartedError as exc:
            if all(isinstance(problem, ExchangeDirectoryError) for problem in exc.problems):
                _skip(record, import_type, exc)  # e.g. 1C sends goods without pictures
                return None
            holder = import_launch_slot_holder(exc)
            if holder is None:
                return _finish(record, ExchangeImport.Status.FAILED, f"{_label(import_type)} could not start: {exc}")
            _running(record)
            return _progress(f"{_label(import_type)}: waiting for import #{holder.pk} ({holder})")
        record.sessions.add(session)
        _running(record)
        return None
    finally:
        connections.close_all()  # this thread's own connection


def _skip(record: ExchangeImport, import_type: str, reason: Exception) -> None:
    """A type with nothing to read in this exchange is left out, and the answer says so."""
    record.import_types = [key for key in record.import_types if key != import_type]
    record.message = "\n".join(filter(None, [record.message, f"{_label(import_type)} not run: {reason}"]))
    ExchangeImport.objects.filter(pk=record.pk).update(import_types=record.import_types, message=record.message)


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


def _running(record: ExchangeImport) -> None:
    if record.status != ExchangeImport.Status.RUNNING:
        ExchangeImport.objects.filter(pk=record.pk).update(status=ExchangeImport.Status.RUNNING)
        record.status = ExchangeImport.Status.RUNNING


def _finish(record: ExchangeImport, status: str, message: str) -> ExchangeAnswer:
    ExchangeImport.objects.filter(pk=record.pk).update(status=status, message=message, finished_at=timezone.now())
    record.status, record.message = status, message
    logger.info("1C exchange #%s: import of %s %s: %s", record.exchange_id, record.filename, status, message)
    return _advance(record=record, placed_at=None)


def _label(import_type: str) -> str:
    return f"«{import_type_spec(import_type).label}»"


def _session_progress(session: ImportSession) -> str:
    if session.status == ImportSession.Status.PENDING:
        return f"{_label(session.import_type)} #{session.pk}: waiting for a worker to pick the run up"
    return f"{_label(session.import_type)} #{session.pk}: {session.report.progress_text()}"


def _session_summary(session: ImportSession) -> str:
    spec = import_type_spec(session.import_type)
    counts = ", ".join(
        f"{(spec.counter(key).label if spec.counter(key) else key)}: {session.report.count(key)}"
        for key in spec.summary_counters
    )
    note = f" ({session.error_message})" if session.error_message else ""
    return f"{_label(session.import_type)} #{session.pk}: {counts}{note}"


# --- the end of an exchange ---------------------------------------------------------------


def exchange_deactivate(*, exchange: Exchange1C) -> ExchangeAnswer:
    """`deactivate`, 1C's word that a full exchange is all there: run again, with
    removal, each exchange import type this exchange (and the user's earlier open ones:
    the sessions of one per-file exchange) ran; they re-read every file and remove what
    1C no longer sends (only where every file says it is a full exchange). Answered like
    `import` (`progress`, then `success` or `failure`); `complete`, which follows, closes
    the exchange (closing it here would refuse that `complete`)."""
    if exchange.exchange_type == Exchange1C.Type.SALE:
        return _success()
    if not _claim(exchange):
        return _progress("deactivate: the previous request for this exchange is still working")
    started, handover = time.monotonic(), []
    try:
        _settle_ended_runs(wait_until=started + SETTLE_SECONDS)
        record = ExchangeImport.objects.filter(exchange=exchange, path=DEACTIVATE_PATH).first()
        if record is None:
            ran = set(
                key
                for types in ExchangeImport.objects.filter(exchange__in=_batch_exchanges(exchange))
                .exclude(path=DEACTIVATE_PATH).values_list("import_types", flat=True)
                for key in types
            )
            types = [spec.key for spec in import_type_specs() if spec.kinds and spec.key in ran]
            record = ExchangeImport.objects.create(
                exchange=exchange, path=DEACTIVATE_PATH, filename="mode=deactivate", import_types=types,
                message="" if types else "deactivate: nothing was imported in this exchange, nothing to remove",
            )
        return _advance(record=record, placed_at=record.created_at, answer_by=started + ANSWER_SECONDS, handover=handover)
    finally:
        if handover:
            request_thread = threading.get_ident()
            handover[0].add_done_callback(lambda _: _release_from(exchange, request_thread))
        else:
            _release(exchange)


def exchange_close(*, exchange: Exchange1C) -> ExchangeAnswer:
    """`complete`: close this exchange and the
    user's earlier ones that ended before it began (newer 1C says it once for an exchange
    of many sessions; one still talking, from another 1C base, stays open); clear the
    staging areas whose imports all finished."""
    now = timezone.now()
    mine = Exchange1C.objects.filter(
        Q(pk=exchange.pk) | Q(user=exchange.user, pk__lt=exchange.pk, last_request_at__lt=exchange.created_at),
        exchange_type=exchange.exchange_type,
    )
    mine.filter(closed_at__isnull=True).update(closed_at=now)
    for item in mine.filter(staging_cleared=False):
        unfinished = item.imports.exclude(status__in=_FINISHED).exists()
        unplaced = item.files.filter(placed_at__isnull=True).exists()
        if not unfinished and not unplaced:
            shutil.rmtree(_staging_root(item.pk), ignore_errors=True)
            Exchange1C.objects.filter(pk=item.pk).update(staging_cleared=True)
    return _success()


def exchange_sale_query_document() -> str:
    """`type=sale&mode=query`: a valid CommerceML document without orders."""
    stamp = timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="{stamp}"></КоммерческаяИнформация>\n'
    )
