"""The image import flow: start-session -> validate-catalog -> check-directory ->
import-images-chunk (mapped) -> summarize, mirrored into an ImportSession."""
from __future__ import annotations

import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext, gettext_noop
from prefect import flow, get_run_logger, task, unmapped
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.concurrency.sync import concurrency
from prefect.artifacts import create_progress_artifact
from prefect.runtime import flow_run as current_flow_run
from prefect.states import Cancelled
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from apps.i18n.messages import Message
from apps.imports.exceptions import StepFailuresError
from apps.imports.log_context import import_session_log_context
from apps.imports.options import ImageImportOptions
from apps.imports.reports import counters_text
from apps.imports.selectors import import_session_is_active, import_session_report
from apps.imports.services.preflight import exchange_images_dir
from apps.imports.services.sessions import import_session_record_chunk, import_step_failures_listed
from apps.products.selectors import product_active_count, product_active_id_batches
from apps.imports.services.images_import import ChunkImportResult, product_images_import_chunk
from apps.media.storage import media_storage
from apps.media.rendering import configured_rendition_specs
from flows.common import (
    RETRIED_STEP,
    IMPORT_FLOW_OPTIONS,
    closes_db_connections,
    failed_steps,
    publish_progress,
    StepAttempt,
    run_step_until_stalled,
    start_session,
    summarize,
    validate_catalog,
)
from flows.shards import SHARD_FLOW, shard_chunk_indexes, shard_runs_start, shard_runs_wait


@task(name="check-directory", **RETRIED_STEP)
def check_directory(data_dir: str) -> str:
    """Make sure goods/import_files exists and is readable, the renditions setting can be
    read and the media storage takes a probe object (written, read, deleted); return the
    directory's absolute path.

    Also clears media's half-written leftovers of an interrupted earlier run."""
    images_dir = exchange_images_dir(data_dir=Path(data_dir))
    configured_rendition_specs()
    media = media_storage()
    media.probe()
    media.clear_incoming()
    return str(images_dir)


@task(
    name="import-images-chunk",
    task_run_name="import-images-chunk-{chunk_index}",
    **RETRIED_STEP,
)
@closes_db_connections
def import_images_chunk(
    session_id: int,
    chunk_index: int,
    product_ids: list[int],
    images_dir: str,
    options: ImageImportOptions,
    progress_artifact_id: str | None = None,
) -> dict:
    """Import the photos of up to chunk-size products and record the chunk's counts.

    An attempt that stores no photo for ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS (a stalled
    network file system or storage call) is abandoned and the chunk retried."""
    logger = get_run_logger()
    upload_slots = _upload_slots()

    def attempt(current: StepAttempt) -> ChunkImportResult | None:
        """None: the session has ended, the chunk is not imported. The check runs here, on
        the attempt's own connection: one database connection per chunk, not two."""
        if not import_session_is_active(session_id=session_id):
            return None
        # A chunk that finishes after the session ended (cancelled, out of time) still
        # records what it wrote, so the counts match the products' images.
        result = product_images_import_chunk(
            product_ids=product_ids,
            images_dir=Path(images_dir),
            options=options,
            upload_slots=upload_slots and (lambda: _slot_held(upload_slots, current)),
            progressed=current.progressed,
        )
        if not current.still_wanted():  # abandoned after its time limit: the retry records the chunk
            return None
        report = import_session_record_chunk(
            session_id=session_id, chunk_index=chunk_index, counters=result.counters(), error_details=result.error_rows()
        )
        publish_progress(progress_artifact_id, report)
        return result

    result = run_step_until_stalled(
        attempt, seconds=settings.ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS, step=f"chunk {chunk_index}"
    )
    if result is None:
        logger.info("%s", gettext("chunk %(index)s not imported: session #%(id)s has ended") % {
            "index": chunk_index, "id": session_id,
        })
        return {}
    counters = result.counters()
    logger.info("%s", gettext("chunk %(index)s: %(counters)s") % {
        "index": chunk_index,
        "counters": counters_text("images", {
            key: counters[key] for key in ("processed", "copied", "skipped", "errors", "renditions_created")
        }),
    })
    return counters


def _unwalked(chunks: list[list[int]]) -> list:
    """The chunks' product ids as the mapped task's parameter, quoted: Prefect would otherwise
    walk every id twice per task run looking for futures (~0.7 s of CPU of a nothing-changed
    run at 100,000 products; bench/RESULTS.md). The task gets the plain lists."""
    return [quote(ids) for ids in chunks]


@contextmanager
def _slot_held(upload_slots, current: StepAttempt):
    """A slot of the bucket's limit, held; waiting for it (other chunks, on any host, hold
    every slot) is no stall of this chunk."""
    with ExitStack() as held:
        with current.waiting():
            held.enter_context(upload_slots())
        yield


def _upload_slots():
    """While a chunk uploads to S3 it holds one slot of the bucket's global concurrency limit
    (`s3-uploads-<bucket>`; docs/media-and-s3.md): caps uploading chunks on every host."""
    name = media_storage().upload_limit_name
    return (lambda: concurrency(name, occupy=1)) if name and _upload_limit_exists(name) else None


_UPLOAD_LIMIT_RECHECK_SECONDS = 60
_upload_limits_checked: dict[str, tuple[float, bool]] = {}  # name -> (monotonic time asked, exists)
_upload_limits_lock = threading.Lock()


def _upload_limit_exists(name: str) -> bool:
    """Whether Prefect has the limit, asked at most once a minute per process. Without the
    limit, taking a slot is still a round trip to a server busy with the import's own task
    runs, only to learn there is nothing to take, before every uploading chunk."""
    with _upload_limits_lock:
        asked, exists = _upload_limits_checked.get(name, (None, False))
        if asked is not None and time.monotonic() - asked < _UPLOAD_LIMIT_RECHECK_SECONDS:
            return exists
        try:
            with get_client(sync_client=True) as client:
                client.read_global_concurrency_limit_by_name(name)
            exists = True
        except ObjectNotFound:
            exists = False
            get_run_logger().warning("%s", gettext(
                "uploads to this bucket are not capped across chunks and hosts: there is no Prefect global "
                "concurrency limit %(name)s (create it: prefect gcl create %(name)s --limit 4)"
            ) % {"name": name})
        _upload_limits_checked[name] = (time.monotonic(), exists)
        return exists


@flow(
    name="import-images",
    task_runner=ThreadPoolTaskRunner(max_workers=settings.ONEC_IMPORT_MAX_WORKERS),
    **IMPORT_FLOW_OPTIONS,
)
def import_images(
    session_id: int | None = None,
    data_dir: str | None = None,
    options: ImageImportOptions = ImageImportOptions(),
) -> dict:
    """Import the photos of all active products from the 1C exchange into media storage,
    as `options` say (ImageImportOptions: validate, dry run, mirror, verify storage,
    rebuild renditions, shards, chunk size). With `shards` > 1 the chunks run as that many
    flow runs of the shard deployment, on every host whose worker serves the shard pool.
    """
    data_dir = str(data_dir or settings.ONEC_DATA_DIR)
    options = options.with_chunk_size(products=product_active_count())
    chunks = list(product_active_id_batches(batch_size=options.chunk_size))
    session_id = start_session(
        "images",
        session_id,
        {"data_dir": data_dir, "options": options.as_parameters()},
        report={
            "total_products": sum(len(chunk) for chunk in chunks),
            "chunks_total": len(chunks),
            "chunks_done": 0,
            "dry_run": options.dry_run,
            **(
                {"shards_total": len(shard_chunk_indexes(chunks=len(chunks), shards=options.shards))}
                if options.shards > 1 else {}
            ),
            **{name: 0 for name in ChunkImportResult().counters()},
        },
    )["session_id"]
    import_session_log_context(session_id)
    validate_catalog(then="images")
    images_dir = check_directory(data_dir)
    progress_id = str(create_progress_artifact(progress=0.0, description=gettext("Products processed, %")))
    if options.shards > 1:
        failed = _run_in_shards(session_id, chunks, options, images_dir=images_dir, progress_id=progress_id)
    else:
        futures = import_images_chunk.map(
            session_id=unmapped(session_id),
            chunk_index=range(len(chunks)),
            product_ids=_unwalked(chunks),
            images_dir=unmapped(images_dir),
            options=unmapped(options),
            progress_artifact_id=unmapped(progress_id),
        )
        futures.wait()
        failed = failed_steps(futures, kind="chunk")
    report = summarize(session_id, failed, progress_artifact_id=progress_id)
    if "cancelled" in report:
        return Cancelled(message=report["cancelled"])
    return report


def _run_in_shards(
    session_id: int, chunks: list[list[int]], options: ImageImportOptions, *, images_dir: str, progress_id: str
) -> list[dict]:
    """Run the chunks as shard flow runs and wait for them; the shards that failed twice."""
    parent_run_id = current_flow_run.id
    parameters = [
        {
            "session_id": session_id,
            "shard": shard,
            "chunk_indexes": indexes,
            "product_ids": [chunks[index] for index in indexes],
            "images_dir": images_dir,
            "options": options.as_parameters(),
        }
        for shard, indexes in enumerate(shard_chunk_indexes(chunks=len(chunks), shards=options.shards))
    ]
    runs = shard_runs_start(parent_run_id=parent_run_id, parameters=parameters)
    get_run_logger().info("%s", gettext("shard runs started — %(count)s: %(runs)s") % {
        "count": len(runs), "runs": ", ".join(str(run.flow_run_id) for run in runs),
    })
    return shard_runs_wait(
        runs,
        parent_run_id=parent_run_id,
        on_poll=lambda: publish_progress(progress_id, import_session_report(session_id=session_id)),
    )


@flow(
    name=SHARD_FLOW,
    task_runner=ThreadPoolTaskRunner(max_workers=settings.ONEC_IMPORT_MAX_WORKERS),
    timeout_seconds=IMPORT_FLOW_OPTIONS["timeout_seconds"],
)
def import_images_shard(
    session_id: int,
    shard: int,
    chunk_indexes: list[int],
    product_ids: list[list[int]],
    images_dir: str,
    options: ImageImportOptions = ImageImportOptions(),
) -> dict:
    """One shard of a sharded image import: its chunks, recorded into the parent's session."""
    futures = import_images_chunk.map(
        session_id=unmapped(session_id),
        chunk_index=chunk_indexes,
        product_ids=_unwalked(product_ids),
        images_dir=unmapped(images_dir),
        options=unmapped(options),
    )
    futures.wait()
    failed = failed_steps(futures, kind="chunk", indexes=chunk_indexes)
    if failed:
        raise StepFailuresError(Message(
            gettext_noop("shard %(shard)s: %(failed)s of %(total)s chunks failed (%(listed)s)"),
            shard=shard, failed=len(failed), total=len(chunk_indexes), listed=import_step_failures_listed(failed),
        ))
    return {"shard": shard, "chunks": len(chunk_indexes)}
