"""Tasks every 1C exchange import shares (catalog, prices, stocks, customers): find the
files, import one file, remove what a full exchange no longer has, summarize. Each type's
flow module only says which type it is."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flows.common import RETRY_DELAYS_SECONDS, closes_db_connections, retry_on_transient_errors, session_for_this_run

from django.conf import settings  # noqa: E402 (flows.common set Django up)
from prefect import get_run_logger, task  # noqa: E402
from prefect.artifacts import create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from apps.integrations.services.exchange import DETAILS_LIMIT  # noqa: E402
from apps.integrations.services.import_kinds import (  # noqa: E402
    IMPORT_PLANS,
    exchange_import_file,
    exchange_plan_files,
    exchange_remove_absent,
)
from apps.integrations.services.sessions import (  # noqa: E402
    import_session_complete,
    import_session_note,
    import_session_update_report,
)
from apps.integrations.services.preflight import catalog_require_products  # noqa: E402


def begin_session(*, import_type: str, session_id: int | None, data_dir: str | None) -> tuple[int, str, datetime]:
    """Start the flow's session (a scheduled run, session_id=None, creates its own or
    records why it was refused). Returns its id, the data directory, and the session's
    start time: the mark every row this run writes carries."""
    data_dir = str(data_dir or settings.ONEC_DATA_DIR)
    session = session_for_this_run(session_id=session_id, import_type=import_type, parameters={"data_dir": data_dir})
    return session.pk, data_dir, session.started_at


@task(name="validate-catalog", cache_policy=NO_CACHE)
@closes_db_connections
def validate_catalog(then: str) -> int:
    """Refuse to run without active products: import the catalog first."""
    count = catalog_require_products(then=then)
    get_run_logger().info("%d active products", count)
    return count


@task(
    name="find-exchange-files",
    retries=2,
    retry_delay_seconds=RETRY_DELAYS_SECONDS[:2],
    retry_condition_fn=retry_on_transient_errors,
)
def find_exchange_files(import_type: str, data_dir: str) -> tuple[dict[str, list[str]], str]:
    """List the exchange's files of each kind this import reads (3.1 folders or 2.x files)."""
    files, note = exchange_plan_files(import_type=import_type, data_dir=Path(data_dir).resolve())
    get_run_logger().info("files: %s", {kind: len(paths) for kind, paths in files.items()})
    if note:
        get_run_logger().warning(note)
    return files, note


@task(
    name="import-exchange-file",
    task_run_name="import-{kind}-{file_index}",
    retries=len(RETRY_DELAYS_SECONDS),
    retry_delay_seconds=RETRY_DELAYS_SECONDS,
    retry_condition_fn=retry_on_transient_errors,
    cache_policy=NO_CACHE,
)
@closes_db_connections
def import_exchange_file(kind: str, file_index: int, path: str, sync_mark: datetime, context: dict | None = None) -> dict:
    """Write the records of one exchange file."""
    result = exchange_import_file(kind=kind, path=Path(path), sync_mark=sync_mark, context=context)
    get_run_logger().info("%s: %s, %d errors", path, result["counters"], result["errors"])
    return result


@task(name="remove-absent", task_run_name="remove-absent-{kind}", cache_policy=NO_CACHE)
@closes_db_connections
def remove_absent(kind: str, sync_mark: datetime) -> dict:
    """After a full exchange of this kind: deactivate or delete what 1C no longer has."""
    counters = exchange_remove_absent(kind=kind, sync_mark=sync_mark)
    get_run_logger().info("full exchange of %s: %s", kind, counters)
    return counters


@task(name="summarize-import", cache_policy=NO_CACHE)
@closes_db_connections
def summarize_import(session_id: int, import_type: str, results: list[dict], removed: list[dict]) -> dict:
    """Record the run's totals, publish them as a table, and end the session."""
    totals = {name: 0 for name in IMPORT_PLANS[import_type].counters}
    for counters in [result["counters"] for result in results] + removed:
        for name, value in counters.items():
            totals[name] = totals.get(name, 0) + value
    errors = [detail for result in results for detail in result["error_details"]]
    unknown = [offer for result in results for offer in result["unknown_offer_ids"]]
    report = import_session_update_report(
        session_id=session_id,
        processed=len(results),
        **totals,
        errors=sum(result["errors"] for result in results),
        error_details=errors[:DETAILS_LIMIT],
        unknown_offer_ids=unknown[:DETAILS_LIMIT],
    )
    create_table_artifact(
        table=[{"counter": name, "value": report[name]} for name in ("total_files", *totals, "errors")],
        key=f"import-{import_type}-summary",
        description=f"{import_type} import summary",
    )
    if errors:
        create_table_artifact(table=errors[:DETAILS_LIMIT], key=f"import-{import_type}-errors",
                              description="Records that were not imported")
    if unknown:
        create_table_artifact(
            table=[{"offer": offer} for offer in unknown[:DETAILS_LIMIT]], key=f"import-{import_type}-unknown-offers",
            description="Offers whose goods are not in the catalog (not imported)",
        )
    if report.get("unknown_offers"):
        get_run_logger().warning(
            "%d offers name goods that are not in the catalog and were not imported (first: %s); "
            "import the catalog with those goods, then run this import again",
            report["unknown_offers"], ", ".join(unknown[:5]),
        )
    import_session_complete(session_id=session_id)
    return report


def run_exchange_import(
    *, import_type: str, session_id: int, data_dir: str, sync_mark: datetime, contexts: dict | None = None
) -> dict:
    """The body every exchange flow shares: kinds in order, file by file (`contexts[kind]`
    is passed to that kind's service); then, for each kind whose files all declared a
    full exchange, remove what 1C no longer has; then summarize."""
    plan = IMPORT_PLANS[import_type]
    if plan.needs_catalog:
        validate_catalog(then=import_type)
    files, note = find_exchange_files(import_type, data_dir)
    if note:
        import_session_note(session_id=session_id, message=note)
    import_session_update_report(session_id=session_id, total_files=sum(map(len, files.values())), processed=0)
    results_by_kind: dict[str, list[dict]] = {}
    for kind in plan.kinds:
        results_by_kind[kind] = []
        for index, path in enumerate(files[kind]):
            results_by_kind[kind].append(import_exchange_file(kind, index, path, sync_mark, (contexts or {}).get(kind)))
            import_session_update_report(session_id=session_id, processed=sum(map(len, results_by_kind.values())))
    removed = [
        remove_absent(kind, sync_mark)
        for kind, results in results_by_kind.items()
        if results and all(result["full_exchange"] for result in results)
    ]
    results = [result for kind_results in results_by_kind.values() for result in kind_results]
    return summarize_import(session_id, import_type, results, removed)
