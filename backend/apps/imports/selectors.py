"""Read-only queries about import sessions."""
from .models import ImportChunk, ImportSession
from .reports import ImportReport


def import_session_error_details(*, session_id: int, limit: int = 100) -> tuple[list[dict], int]:
    """Per-file errors of a session in chunk order, at most `limit`, and the total count."""
    details: list[dict] = []
    total = 0
    for chunk_errors in (
        ImportChunk.objects.filter(session_id=session_id).order_by("index").values_list("error_details", flat=True)
    ):
        total += len(chunk_errors)
        details.extend(chunk_errors[: max(0, limit - len(details))])
    return details, total


def import_session_active() -> ImportSession | None:
    return ImportSession.objects.filter(running_slot=True).first()


def import_session_is_active(*, session_id: int) -> bool:
    """False once the session ended, e.g. cancelled from the admin while its flow runs."""
    return ImportSession.objects.filter(pk=session_id, status__in=ImportSession.ACTIVE_STATUSES).exists()


def import_session_report(*, session_id: int) -> ImportReport:
    return ImportReport(
        ImportSession.objects.filter(pk=session_id).values_list("report_details", flat=True).first() or {}
    )


def import_session_last_images() -> ImportSession | None:
    """The last image import that ended, a dry run excepted (it wrote nothing): the one
    whose photo errors the product list filters by."""
    return (
        ImportSession.objects.filter(import_type=ImportSession.ImportType.IMAGES, finished_at__isnull=False)
        .exclude(report_details__dry_run=True)
        .order_by("-finished_at", "-id")
        .only("id", "finished_at")
        .first()
    )


def import_session_error_products(*, session_id: int) -> set[str]:
    """The 1C ids of the products a session recorded errors for (image imports: their photos)."""
    return {
        error["product"]
        for chunk_errors in ImportChunk.objects.filter(session_id=session_id).values_list("error_details", flat=True)
        for error in chunk_errors
        if error.get("product")
    }


def import_session_last_catalog() -> ImportSession | None:
    """The last catalog import that completed (with or without record errors): what the
    import page says the catalog holds, read from its report, never from the files."""
    return (
        ImportSession.objects.filter(import_type=ImportSession.ImportType.CATALOG, status=ImportSession.Status.COMPLETED)
        .order_by("-finished_at", "-id")
        .only("id", "finished_at", "report_details", "parameters")
        .first()
    )
