"""What every 1C exchange import (catalog, prices, stocks, customers) does: find the files,
import them file by file, remove what a full exchange no longer has, summarize. Each
type's flow module says which type it is and adds what only it needs."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext, ngettext
from prefect import get_run_logger, task

from apps.i18n.messages import message_text
from apps.imports.import_types import import_type_spec
from apps.imports.log_context import import_session_log_context
from apps.imports.reports import counted, counters_text
from apps.imports.services.record_import import DETAILS_LIMIT, exchange_import_file, exchange_remove_absent
from apps.imports.services.exchange_plan import exchange_plan_files
from apps.onec_exchange.selectors import exchange_files_already_imported
from apps.imports.services.sessions import (
    import_session_note,
    import_session_record_chunk,
    import_session_update_report,
)
from flows.common import (
    RETRIED_STEP,
    closes_db_connections,
    start_session,
    summarize,
    validate_catalog,
)


@task(
    name="find-exchange-files",
    **RETRIED_STEP,
)
@closes_db_connections
def find_exchange_files(
    session_id: int, import_type: str, data_dir: str, started_at: datetime, remove_absent: bool
) -> dict[str, list[str]]:
    """List the exchange's files of each kind this import reads (3.1 folders or 2.x
    files) and record how many there are. A run that removes nothing leaves out the
    files an earlier run already read since the 1C exchange laid them out."""
    files, note = exchange_plan_files(import_type=import_type, data_dir=Path(data_dir).resolve())
    logger = get_run_logger()
    if not remove_absent:
        done = exchange_files_already_imported(
            import_type=import_type, data_dir=data_dir, started_at=started_at,
            paths=[path for paths in files.values() for path in paths],
        )
        files = {kind: [path for path in paths if path not in done] for kind, paths in files.items()}
        if done:
            logger.info(ngettext(
                "%(count)s file left out: an earlier run already imported it as it is",
                "%(count)s files left out: an earlier run already imported them as they are",
                len(done),
            ) % {"count": len(done)})
    logger.info("%s", gettext("exchange files: %(files)s") % {
        "files": ", ".join(counted(kind, len(paths)).translated() for kind, paths in files.items())  # kinds: the exchange's folders
    })
    counters = {counter.key: 0 for counter in import_type_spec(import_type).counters}
    import_session_update_report(session_id=session_id, **{**counters, "total_files": sum(map(len, files.values()))})
    if note:
        logger.warning("%s", message_text(note))
        import_session_note(session_id=session_id, message=note)
    return files


@task(
    name="import-exchange-file",
    task_run_name="import-{kind}-{file_index}",
    **RETRIED_STEP,
)
@closes_db_connections
def import_exchange_file(
    session_id: int,
    import_type: str,
    step: int,
    kind: str,
    file_index: int,
    path: str,
    sync_mark: datetime,
    context: dict | None = None,
) -> dict:
    """Write the records of one exchange file and record its counts and refused records
    (a retried file replaces its own record)."""
    result = exchange_import_file(kind=kind, path=Path(path), sync_mark=sync_mark, context=context)
    import_session_record_chunk(
        session_id=session_id,
        chunk_index=step,
        counters={**result["counters"], "processed": 1, "errors": result["errors"]},
        error_details=result["error_details"],
    )
    get_run_logger().info("%s", gettext("%(file)s: %(counters)s") % {
        "file": path, "counters": counters_text(import_type, {**result["counters"], "errors": result["errors"]}),
    })
    return result


@task(
    name="remove-absent",
    task_run_name="remove-absent-{kind}",
    **RETRIED_STEP,
)
@closes_db_connections
def remove_absent_records(session_id: int, import_type: str, step: int, kind: str, sync_mark: datetime) -> dict:
    """After a full exchange of this kind: deactivate or delete what 1C no longer has."""
    counters = exchange_remove_absent(kind=kind, sync_mark=sync_mark)
    import_session_record_chunk(session_id=session_id, chunk_index=step, counters=counters, error_details=[])
    get_run_logger().info("%s", gettext("full exchange of %(kind)s: %(counters)s") % {
        "kind": kind, "counters": counters_text(import_type, counters),
    })
    return counters


def run_exchange_import(
    *,
    import_type: str,
    session_id: int | None,
    data_dir: str | None,
    contexts: Callable[[str], dict] | None = None,
    remove_absent: bool = True,
) -> dict:
    """The body every exchange flow shares: start the session; find the files (without
    removal, only those no earlier run read as they are); kinds in order, file by file
    (`contexts(data_dir)[kind]`, read once the files are found, is passed to that kind's
    service); then, for each kind whose files all declared a full exchange, remove what
    1C no longer has (unless `remove_absent` is False: the 1C exchange's runs of one part
    of a multi-part exchange; its `deactivate` runs them again with removal once every
    part is there); then summarize.

    Every row the run writes carries the session's start time, so "absent" means "not
    written by this run"."""
    spec = import_type_spec(import_type)
    data_dir = str(data_dir or settings.ONEC_DATA_DIR)
    started = start_session(import_type, session_id, {"data_dir": data_dir})
    session_id, sync_mark = started["session_id"], started["started_at"]
    import_session_log_context(session_id)
    if spec.needs_catalog:
        validate_catalog(then=import_type)
    files = find_exchange_files(session_id, import_type, data_dir, sync_mark, remove_absent)
    context_by_kind = contexts(data_dir) if contexts else {}
    step = 0
    results_by_kind: dict[str, list[dict]] = {}
    for item in spec.kinds:
        results_by_kind[item.kind] = []
        for index, path in enumerate(files[item.kind]):
            context = context_by_kind.get(item.kind)
            results_by_kind[item.kind].append(
                import_exchange_file(session_id, import_type, step, item.kind, index, path, sync_mark, context)
            )
            step += 1
    for kind, results in results_by_kind.items():
        if remove_absent and results and all(result["full_exchange"] for result in results):
            remove_absent_records(session_id, import_type, step, kind, sync_mark)
            step += 1
    unknown = [offer for results in results_by_kind.values() for result in results for offer in result["unknown_offer_ids"]]
    return summarize(session_id, details={"unknown_offer_ids": unknown[:DETAILS_LIMIT]} if unknown else None)
