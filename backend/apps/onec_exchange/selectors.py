"""Read-only queries of the 1C exchange's records."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from apps.imports.models import ImportSession

from .models import Exchange1C, ExchangeFile


def exchange_files_already_imported(
    *, import_type: str, data_dir: str, paths: list[str], started_at: datetime
) -> set[str]:
    """Of `paths`, the files a completed run of this type (on this data directory, started
    before `started_at`) already read after this exchange laid them out unchanged. A
    file's run leaves them out: newer 1C sends every part in an exchange of its own, and
    reading all earlier parts again for each would read n parts n times. What they wrote
    is in the database; `deactivate`'s runs, which remove what is absent, read them all."""
    root = Path(settings.ONEC_DATA_DIR).resolve()
    relative = {}
    for path in paths:
        try:
            relative[str(Path(path).resolve().relative_to(root))] = path
        except ValueError:  # not the exchange directory's (a run on another directory)
            continue
    placed = dict(
        ExchangeFile.objects.filter(path__in=relative, placed_at__isnull=False)
        .values("path").annotate(latest=Max("placed_at")).values_list("path", "latest")
    )
    last_run = ImportSession.objects.filter(
        import_type=import_type, status=ImportSession.Status.COMPLETED, parameters__data_dir=data_dir,
        started_at__lt=started_at,
    ).aggregate(started=Max("started_at"))["started"]
    if last_run is None:
        return set()
    return {
        relative[rel] for rel, placed_at in placed.items()
        if placed_at <= last_run and not _changed_since(Path(relative[rel]), placed_at)
    }


def _changed_since(path: Path, moment: datetime) -> bool:
    """The file was written after `moment` (put there by hand), or is gone."""
    try:
        return path.stat().st_mtime > moment.timestamp()
    except OSError:
        return True


def exchange_batch(exchange: Exchange1C):
    """This exchange and the earlier ones of its user whose files may not be laid out yet
    (newer 1C sends every file in an exchange of its own). Exchanges 1C closed or gave up
    (idle for Exchange1C.IDLE_LIMIT) belong to an earlier exchange: their files stay in
    staging, never mixed into this one."""
    earlier = Q(
        user=exchange.user, pk__lt=exchange.pk, last_request_at__lt=exchange.created_at,
        last_request_at__gte=timezone.now() - Exchange1C.IDLE_LIMIT, closed_at__isnull=True,
    )
    return Exchange1C.objects.filter(Q(pk=exchange.pk) | earlier, exchange_type=Exchange1C.Type.CATALOG, staging_cleared=False)


def exchange_placed_file(*, exchange: Exchange1C, path: PurePosixPath) -> ExchangeFile | None:
    """The latest laid-out file at `path` sent in this exchange or an earlier open one of its user."""
    return (
        ExchangeFile.objects.filter(path=str(path), placed_at__isnull=False)
        .filter(Q(exchange=exchange) | Q(exchange__user=exchange.user, exchange__closed_at__isnull=True))
        .order_by("-placed_at").first()
    )


def exchange_file_replaced(*, placed: ExchangeFile) -> ExchangeFile | None:
    """The file another user's exchange laid out over `placed` since: what is at its path
    now is not what this exchange sent."""
    return (
        ExchangeFile.objects.filter(path=placed.path, placed_at__gt=placed.placed_at)
        .exclude(exchange__user_id=placed.exchange.user_id).select_related("exchange__user").order_by("placed_at").first()
    )


def exchange_batch_xml_replaced(*, exchange: Exchange1C) -> ExchangeFile | None:
    """A file another user's exchange laid out over an XML file that this exchange, or an
    earlier open one of its user, laid out: `deactivate`'s runs, which read every file,
    would take theirs for this 1C's full exchange."""
    placed = ExchangeFile.objects.filter(
        exchange__in=exchange_batch(exchange), placed_at__isnull=False, is_archive=False, path__iendswith=".xml"
    ).select_related("exchange").order_by("path", "-placed_at")
    latest = {}
    for item in placed:  # a file sent again (after a replacement) is what counts at its path
        latest.setdefault(item.path, item)
    return next(filter(None, (exchange_file_replaced(placed=item) for item in latest.values())), None)


def exchange_files_waiting(*, exchange: Exchange1C, path: PurePosixPath):
    """The files of the exchange's batch not laid out yet that are `path` or may hold it
    (a file 1C sent at the top of staging may be an archive)."""
    return ExchangeFile.objects.filter(exchange__in=exchange_batch(exchange), placed_at__isnull=True).filter(
        Q(path=str(path)) | Q(from_archive=False, path__regex=r"^[^/]+$")
    )
