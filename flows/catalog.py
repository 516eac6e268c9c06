"""The catalog import flow: find-goods-files -> import-goods-file (per file, in order) ->
summarize-catalog, mirrored into an ImportSession."""
from __future__ import annotations

from pathlib import Path

from flows.common import (
    RETRY_DELAYS_SECONDS,
    SESSION_HOOKS,
    closes_db_connections,
    retry_on_transient_errors,
    session_for_this_run,
)

from django.conf import settings  # noqa: E402
from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from apps.integrations.models import ImportSession  # noqa: E402
from apps.integrations.services.catalog_import import catalog_import_goods_file  # noqa: E402
from apps.integrations.services.preflight import exchange_goods_files  # noqa: E402
from apps.integrations.services.sessions import import_session_complete, import_session_update_report  # noqa: E402

ERROR_DETAILS_LIMIT = 200


@task(name="find-goods-files", retries=2, retry_delay_seconds=RETRY_DELAYS_SECONDS[:2], retry_condition_fn=retry_on_transient_errors)
def find_goods_files(data_dir: str) -> list[str]:
    """List the exchange's goods files (goods/*.xml, or a 2.x import.xml)."""
    return [str(path) for path in exchange_goods_files(data_dir=Path(data_dir))]


@task(
    name="import-goods-file",
    task_run_name="import-goods-file-{file_index}",
    retries=len(RETRY_DELAYS_SECONDS),
    retry_delay_seconds=RETRY_DELAYS_SECONDS,
    retry_condition_fn=retry_on_transient_errors,
    cache_policy=NO_CACHE,
)
@closes_db_connections
def import_goods_file(session_id: int, file_index: int, path: str) -> dict:
    """Create or update the products of one goods file."""
    result = catalog_import_goods_file(path=Path(path)).as_dict()
    get_run_logger().info("%s: %d created, %d updated, %d errors", path, result["created"], result["updated"], result["errors"])
    return result


@task(name="summarize-catalog", cache_policy=NO_CACHE)
@closes_db_connections
def summarize_catalog(session_id: int, results: list[dict]) -> dict:
    """Record the totals and end the session."""
    errors = [detail for result in results for detail in result["error_details"]]
    report = import_session_update_report(
        session_id=session_id,
        processed=len(results),
        created=sum(r["created"] for r in results),
        updated=sum(r["updated"] for r in results),
        deactivated=sum(r["deactivated"] for r in results),
        errors=len(errors),
        error_details=errors[:ERROR_DETAILS_LIMIT],
    )
    create_table_artifact(
        table=[{"counter": k, "value": report[k]} for k in ("total_files", "created", "updated", "deactivated", "errors")],
        key="import-catalog-summary",
        description="Catalog import summary",
    )
    import_session_complete(session_id=session_id)
    return report


@flow(name="import-catalog", **SESSION_HOOKS)
def import_catalog(session_id: int | None = None, data_dir: str | None = None) -> dict:
    """Create and update products from the 1C exchange's goods files."""
    data_dir = str(data_dir or settings.ONEC_DATA_DIR)
    session_id = session_for_this_run(
        session_id=session_id, import_type=ImportSession.ImportType.CATALOG, parameters={"data_dir": data_dir}
    )
    files = find_goods_files(data_dir)
    import_session_update_report(session_id=session_id, total_files=len(files), processed=0)
    results = [import_goods_file(session_id, index, path) for index, path in enumerate(files)]
    return summarize_catalog(session_id, results)
