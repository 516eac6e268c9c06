"""The work of a 1C exchange's `import` (and `deactivate`), where Prefect retries it and
shows it: lay the exchange's files out (unpack archives, move staged files into the
exchange directory), then start the file's import runs one after the other and follow
them, then end the exchange import `completed` or `failed`. The web request that asked
for this run only reads the row these tasks write (apps/onec_exchange/services/protocol.py).

Runs on the `onec-imports` pool (prefect.yaml: `prepare-exchange-import/onec-exchange`);
its worker must see the staging area and the exchange directory the web server writes
(docs/onec-exchange-hosts.md)."""
from __future__ import annotations

import time

from django.db import connections
from django.utils.translation import gettext
from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run as current_flow_run

from apps.imports.models import ImportSession
from apps.imports.services.reconcile import import_sessions_reconcile
from apps.onec_exchange.exceptions import ExchangeImportFailedError
from apps.onec_exchange.models import ExchangeImport
from apps.onec_exchange.services.layout import (
    exchange_files_in_use,
    exchange_files_lay_out,
    exchange_import_claim,
    exchange_import_fail,
    exchange_import_waits,
)
from apps.onec_exchange.services.messages import english, preparation_failed, stored_lines
from apps.onec_exchange.services.runs import DEACTIVATE_PATH, exchange_import_runs_advance
from flows.common import RETRIED_STEP, closes_db_connections, failure_reason

# How often a wait looks at the session's row, and asks Prefect whether its run ended
# without telling us (a worker that died, a run cancelled or crashed in Prefect).
WAIT_SECONDS = 1.0
RECONCILE_SECONDS = 10.0
# What a run answers when its file was sent again while it ran: a later run took over.
SUPERSEDED = "superseded"


@task(name="claim-exchange-import", **RETRIED_STEP)
@closes_db_connections
def claim_exchange_import(exchange_import_id: int) -> bool:
    """Whether this run prepares the exchange import (not when its file was sent again since)."""
    return exchange_import_claim(exchange_import_id=exchange_import_id, flow_run_id=current_flow_run.id)


@task(name="lay-out-exchange-files", **RETRIED_STEP)
@closes_db_connections
def lay_out_exchange_files(exchange_import_id: int) -> dict:
    """Unpack the exchange's archives and move its files into the exchange directory."""
    step = exchange_files_lay_out(exchange_import_id=exchange_import_id, claimant=str(current_flow_run.id))
    get_run_logger().info("%s", _layout_text(step))
    return {"done": step.done, "wait_for": step.wait_for, "wait_for_exchange": step.wait_for_exchange, "busy": step.busy}


def _layout_text(step) -> str:
    if step.done:
        return gettext("the exchange's files are laid out")
    if step.wait_for:
        return gettext("laying the files out waits for import #%(id)s") % {"id": step.wait_for}
    if step.wait_for_exchange:
        return gettext("laying the files out waits for 1C exchange #%(id)s") % {"id": step.wait_for_exchange}
    return gettext("laying the files out waits for another exchange moving its files")


@task(name="advance-exchange-import", **RETRIED_STEP)
@closes_db_connections
def advance_exchange_import(exchange_import_id: int) -> dict:
    """Start or follow the next import run of the exchange import, or end it."""
    step = exchange_import_runs_advance(exchange_import_id=exchange_import_id, flow_run_id=current_flow_run.id)
    get_run_logger().info("%s", (
        gettext("the exchange's import runs have ended") if step.finished
        else gettext("waiting for import #%(id)s") % {"id": step.wait_for}
    ))
    return {"finished": step.finished, "wait_for": step.wait_for}


@task(name="wait-for-import", task_run_name="wait-for-import-{session_id}", **RETRIED_STEP)
@closes_db_connections
def wait_for_import(session_id: int) -> str:
    """Wait until the import session ends; returns its status."""
    asked = time.monotonic()
    while True:
        status = ImportSession.objects.values_list("status", flat=True).get(pk=session_id)
        if status not in ImportSession.ACTIVE_STATUSES:
            return status
        if time.monotonic() - asked >= RECONCILE_SECONDS:
            import_sessions_reconcile()
            asked = time.monotonic()
        time.sleep(WAIT_SECONDS)


@task(name="wait-for-exchange", task_run_name="wait-for-exchange-{exchange_id}", **RETRIED_STEP)
@closes_db_connections
def wait_for_exchange(exchange_id: int, exchange_import_id: int) -> None:
    """Wait until another 1C exchange's imports have read the files this one would replace
    (or until this import gave way to an exchange that waited for its files)."""
    while exchange_files_in_use(exchange_id=exchange_id) and exchange_import_waits(exchange_import_id=exchange_import_id):
        time.sleep(WAIT_SECONDS)


def _settle(flow, flow_run, state) -> None:
    """However the run ends, 1C must not hear `progress` for ever."""
    connections.close_all()
    try:
        exchange_import_fail(
            exchange_import_id=int(flow_run.parameters["exchange_import_id"]),
            reason=preparation_failed(failure_reason(state)),
            flow_run_id=flow_run.id,
        )
    finally:
        connections.close_all()


@flow(name="prepare-exchange-import", on_failure=[_settle], on_crashed=[_settle], on_cancellation=[_settle])
def prepare_exchange_import(exchange_import_id: int) -> str:
    """Lay the 1C exchange's files out, then run the file's imports one after the other."""
    if not claim_exchange_import(exchange_import_id):
        get_run_logger().info("%s", gettext("exchange import #%(id)s was started afresh by another run: nothing to do") % {
            "id": exchange_import_id,
        })
        return SUPERSEDED
    record = ExchangeImport.objects.only("path").get(pk=exchange_import_id)
    connections.close_all()
    if record.path != DEACTIVATE_PATH:
        while not (step := lay_out_exchange_files(exchange_import_id))["done"]:
            if step["wait_for"]:
                wait_for_import(step["wait_for"])
            elif step["wait_for_exchange"]:
                wait_for_exchange(step["wait_for_exchange"], exchange_import_id)
            else:
                time.sleep(WAIT_SECONDS)  # another run lays the same exchange's files out, or moves files now
    while not (step := advance_exchange_import(exchange_import_id))["finished"]:
        wait_for_import(step["wait_for"])
    record = ExchangeImport.objects.only("status", "message", "flow_run_id").get(pk=exchange_import_id)
    connections.close_all()
    if str(record.flow_run_id) != str(current_flow_run.id):
        return SUPERSEDED
    if record.status == ExchangeImport.Status.FAILED:
        raise ExchangeImportFailedError("\n".join(english(line) for line in stored_lines(record)))
    return record.status
