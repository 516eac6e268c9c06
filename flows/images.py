"""The image import flow: validate-catalog -> check-directory -> import-images-chunk (mapped)
-> summarize, mirrored into an ImportSession."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from flows.common import (
    RETRY_DELAYS_SECONDS,
    SESSION_HOOKS,
    closes_db_connections,
    retry_on_transient_errors,
    session_for_this_run,
)
from flows.exchange import validate_catalog

from django.conf import settings  # noqa: E402 (flows.common set Django up)
from prefect import flow, get_run_logger, task, unmapped  # noqa: E402
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.states import Cancelled  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from apps.integrations.exceptions import ChunkFailuresError  # noqa: E402
from apps.integrations.models import ImportSession  # noqa: E402
from apps.integrations.selectors import import_session_error_details, import_session_is_active  # noqa: E402
from apps.integrations.services.preflight import exchange_images_dir  # noqa: E402
from apps.integrations.services.sessions import (  # noqa: E402
    import_session_complete,
    import_session_fail,
    import_session_note,
    import_session_record_chunk,
    import_session_update_report,
)
from apps.products.selectors import product_active_id_batches  # noqa: E402
from apps.products.services import ChunkImportResult, product_images_import_chunk  # noqa: E402
from apps.products.services.image_files import media_clear_incoming  # noqa: E402

ERROR_TABLE_LIMIT = 200
# Each progress-artifact update is an API call (~15 ms, 1.3 s of a 10k-product run when
# sent per chunk); the session row gets every chunk, Prefect's bar at most once a second.
PROGRESS_ARTIFACT_INTERVAL_SECONDS = 1.0
_progress_sent_at: dict[str, float] = {}
_progress_lock = threading.Lock()


def publish_progress(artifact_id: str | None, report: dict, *, final: bool = False) -> None:
    """Move the run's progress artifact to `processed / total_products` (throttled)."""
    if not artifact_id or not report.get("total_products"):
        return
    now = time.monotonic()
    with _progress_lock:
        if final:
            _progress_sent_at.pop(artifact_id, None)  # a worker process runs many flows
        elif now - _progress_sent_at.get(artifact_id, 0.0) < PROGRESS_ARTIFACT_INTERVAL_SECONDS:
            return
        else:
            _progress_sent_at[artifact_id] = now
    update_progress_artifact(artifact_id=artifact_id, progress=100 * report["processed"] / report["total_products"])


@task(
    name="check-directory",
    retries=2,
    retry_delay_seconds=RETRY_DELAYS_SECONDS[:2],
    retry_condition_fn=retry_on_transient_errors,
)
def check_directory(data_dir: str) -> str:
    """Make sure goods/import_files exists and is readable; return its absolute path.

    Also clears media's half-written leftovers of an interrupted earlier run."""
    images_dir = exchange_images_dir(data_dir=Path(data_dir))
    media_clear_incoming()
    return str(images_dir)


@task(
    name="import-images-chunk",
    task_run_name="import-images-chunk-{chunk_index}",
    retries=len(RETRY_DELAYS_SECONDS),
    retry_delay_seconds=RETRY_DELAYS_SECONDS,
    retry_condition_fn=retry_on_transient_errors,
    cache_policy=NO_CACHE,
)
@closes_db_connections
def import_images_chunk(
    session_id: int,
    chunk_index: int,
    product_ids: list[int],
    images_dir: str,
    validate_images: bool,
    dry_run: bool = False,
    mirror: bool = False,
    progress_artifact_id: str | None = None,
) -> dict:
    """Import the photos of up to chunk-size products and record the chunk's counts."""
    if not import_session_is_active(session_id=session_id):
        get_run_logger().info("chunk %d not imported: session #%d was cancelled", chunk_index, session_id)
        return {}
    result = product_images_import_chunk(
        product_ids=product_ids,
        images_dir=Path(images_dir),
        validate_images=validate_images,
        dry_run=dry_run,
        mirror=mirror,
    )
    report = import_session_record_chunk(
        session_id=session_id, chunk_index=chunk_index, counters=result.counters(), error_details=result.error_rows()
    )
    publish_progress(progress_artifact_id, report)
    get_run_logger().info(
        "chunk %d: %d products, %d files copied, %d up to date, %d errors",
        chunk_index, result.processed, result.copied, result.skipped, result.errors,
    )
    return result.counters()


@task(
    name="summarize",
    retries=len(RETRY_DELAYS_SECONDS),
    retry_delay_seconds=RETRY_DELAYS_SECONDS,
    retry_condition_fn=retry_on_transient_errors,
    cache_policy=NO_CACHE,
)
@closes_db_connections
def summarize(session_id: int, failed_chunks: list[dict], progress_artifact_id: str | None = None) -> dict:
    """Publish the run's tables and end the session; fail the run if any chunk failed.

    A session cancelled (from the admin) while its chunks ran stays cancelled: chunks that
    finished keep their images and counts, the others did not start.
    """
    session = ImportSession.objects.get(pk=session_id)
    report = session.report_details
    publish_progress(progress_artifact_id, report, final=True)
    summary_rows = [
        {"counter": name, "value": report.get(name, 0), "counts": unit}
        for name, unit in (
            ("total_products", "products"),
            ("processed", "products"),
            ("products_without_images", "products"),
            ("main_images_set", "products"),
            ("gallery_added", "gallery entries"),
            ("removed", "gallery entries (mirror mode)"),
            ("copied", "files"),
            ("replaced", "files"),
            ("skipped", "files (already up to date)"),
            ("errors", "files"),
        )
    ]
    if report.get("dry_run"):
        summary_rows.insert(0, {"counter": "dry_run", "value": "yes: nothing was written", "counts": ""})
    create_table_artifact(table=summary_rows, key="import-images-summary", description="Image import summary")
    error_rows, error_total = import_session_error_details(session_id=session_id, limit=ERROR_TABLE_LIMIT)
    if error_rows:
        more = f" (first {len(error_rows)} of {error_total})" if error_total > len(error_rows) else ""
        create_table_artifact(
            table=error_rows, key="import-images-errors", description=f"Files that were not imported{more}"
        )
    if session.status == ImportSession.Status.CANCELLED:
        return {**report, "cancelled": session.error_message or "cancelled"}
    if failed_chunks:
        details = "; ".join(f"chunk {item['chunk']}: {item['reason']}" for item in failed_chunks[:5])
        message = (
            f"{len(failed_chunks)} of {report.get('chunks_total', '?')} chunks failed after retries ({details}). "
            "The other chunks' images were imported; run the import again to finish."
        )
        import_session_fail(session_id=session_id, error_message=message)
        raise ChunkFailuresError(message)
    if error_total:
        first = error_rows[0]
        import_session_note(
            session_id=session_id,
            message=(
                f"{error_total} file(s) were not imported; the first: product {first['product'] or '?'}, "
                f"{first['reason']}. See the per-file errors."
            ),
        )
    import_session_complete(session_id=session_id)
    get_run_logger().info(
        "%s products, %s files copied, %s up to date, %s errors",
        report.get("processed"), report.get("copied"), report.get("skipped"), report.get("errors"),
    )
    return report


@flow(
    name="import-images",
    task_runner=ThreadPoolTaskRunner(max_workers=settings.ONEC_IMPORT_MAX_WORKERS),
    **SESSION_HOOKS,
)
def import_images(
    session_id: int | None = None,
    data_dir: str | None = None,
    validate_images: bool = False,
    chunk_size: int | None = None,
    dry_run: bool = False,
    mirror: bool = False,
) -> dict:
    """Import the photos of all active products from the 1C exchange into media storage.

    `dry_run` reports what would change and writes nothing; `mirror` makes each product's
    pictures equal to 1C's current <Картинка> list (the default only adds).
    """
    data_dir = str(data_dir or settings.ONEC_DATA_DIR)
    chunk_size = chunk_size or settings.ONEC_IMAGE_CHUNK_SIZE
    session_id = session_for_this_run(
        session_id=session_id,
        import_type=ImportSession.ImportType.IMAGES,
        parameters={
            "data_dir": data_dir,
            "validate_images": validate_images,
            "chunk_size": chunk_size,
            "dry_run": dry_run,
            "mirror": mirror,
        },
    ).id

    validate_catalog(then="images")
    images_dir = check_directory(data_dir)
    chunks = list(product_active_id_batches(batch_size=chunk_size))
    import_session_update_report(
        session_id=session_id,
        total_products=sum(len(chunk) for chunk in chunks),
        chunks_total=len(chunks),
        chunks_done=0,
        dry_run=dry_run,
        **{name: 0 for name in ChunkImportResult().counters()},
    )
    progress_id = create_progress_artifact(progress=0.0, description="Products processed, %")
    futures = import_images_chunk.map(
        session_id=unmapped(session_id),
        chunk_index=range(len(chunks)),
        product_ids=chunks,
        images_dir=unmapped(images_dir),
        validate_images=unmapped(validate_images),
        dry_run=unmapped(dry_run),
        mirror=unmapped(mirror),
        progress_artifact_id=unmapped(str(progress_id)),
    )
    futures.wait()
    failed_chunks = [
        {"chunk": index, "reason": _failure_reason(future.state)}
        for index, future in enumerate(futures)
        if not future.state.is_completed()
    ]
    report = summarize(session_id, failed_chunks, progress_artifact_id=str(progress_id))
    if "cancelled" in report:
        return Cancelled(message=report["cancelled"])
    return report


def _failure_reason(state) -> str:
    exc = state.result(raise_on_failure=False)
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else (state.message or state.name)
