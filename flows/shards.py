"""One image import on several hosts: the parent flow run splits its chunks into shards and
runs each as a flow run of the shard deployment, on the work pool every host's worker
serves; then it watches them until each has ended. Shards record their chunks into the
parent's session (a re-recorded chunk replaces its counts), so a shard that is run again
counts nothing twice."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.utils.translation import gettext, gettext_noop
from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.states import Cancelling, Crashed

from apps.i18n.messages import Message, message_text
from apps.imports.options import SHARD_DEPLOYMENT, SHARD_FLOW
from apps.imports.services.sessions import import_step_failure
from flows.common import prefect_state_reason

SHARD_POOL = "onec-images-shards"
SHARD_POLL_SECONDS = 0.5
_NOT_STARTED = {StateType.SCHEDULED, StateType.PENDING}
# Shard runs emit this event every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (set on the
# shard deployment in prefect.yaml); a run that stops emitting it lost its process or host.
HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"


def shard_chunk_indexes(*, chunks: int, shards: int) -> list[list[int]]:
    """Chunk indexes per shard, dealt round-robin so every shard gets a similar share of
    the catalog; no empty shards."""
    return [indexes for shard in range(shards) if (indexes := list(range(shard, chunks, shards)))]


@dataclass
class ShardRun:
    shard: int
    parameters: dict
    flow_run_id: uuid.UUID
    attempt: int = 1
    started: bool = False
    running_since: float | None = None  # monotonic time the parent first saw it running


def shard_runs_start(*, parent_run_id: uuid.UUID, parameters: list[dict]) -> list[ShardRun]:
    """Trigger one flow run of the shard deployment per shard, linked to the parent as
    subflows; an idempotency key per parent run and shard means a retried trigger never
    starts a shard twice."""
    return [
        ShardRun(shard, shard_parameters, _trigger(parent_run_id, shard, shard_parameters, attempt=1))
        for shard, shard_parameters in enumerate(parameters)
    ]


def _trigger(parent_run_id: uuid.UUID, shard: int, parameters: dict, *, attempt: int) -> uuid.UUID:
    run = run_deployment(
        SHARD_DEPLOYMENT,
        parameters=parameters,
        timeout=0,
        as_subflow=True,
        flow_run_name=f"shard-{shard}" + (f"-rerun-{attempt - 1}" if attempt > 1 else ""),
        idempotency_key=f"{parent_run_id}-shard-{shard}-attempt-{attempt}",
    )
    return run.id


def shard_runs_wait(runs: list[ShardRun], *, parent_run_id: uuid.UUID, on_poll=None) -> list[dict]:
    """Wait until every shard run has ended; run a failed or crashed shard once more.

    Returns the shards that failed after their re-run, as failed steps for `summarize`.
    A shard that no worker picks up within ONEC_SHARD_START_TIMEOUT_SECONDS means no host
    serves the pool: the shards not started are cancelled and reported as such.
    """
    logger = get_run_logger()
    failed: dict[int, dict] = {}
    pending = {run.shard: run for run in runs}
    waiting_since = time.monotonic()
    while pending:
        time.sleep(SHARD_POLL_SECONDS)
        states = _states([run.flow_run_id for run in pending.values()])
        for shard, run in list(pending.items()):
            state = states.get(run.flow_run_id)
            if state is None:
                continue
            if state.type not in _NOT_STARTED:
                run.started = True
            if state.type == StateType.RUNNING and run.running_since is None:
                run.running_since = time.monotonic()
            lost = None
            if state.type == StateType.RUNNING and _heartbeat_lost(run):
                lost = Message(
                    gettext_noop("no heartbeat for %(seconds)s s: its worker, process or host stopped"),
                    seconds=settings.ONEC_SHARD_HEARTBEAT_TIMEOUT_SECONDS,
                )
                state = _mark_crashed(run.flow_run_id, lost)
            if not state.is_final():
                continue
            if state.is_completed() or state.is_cancelled():
                pending.pop(shard)
                continue
            reason = lost or prefect_state_reason(state)  # Prefect's text is English: a parameter of ours
            if run.attempt == 1:
                logger.warning("%s", gettext("shard %(shard)s ended: %(reason)s; running it once more") % {
                    "shard": shard, "reason": message_text(reason),
                })
                run.attempt, run.started, run.running_since = 2, False, None
                run.flow_run_id = _trigger(parent_run_id, shard, run.parameters, attempt=2)
                waiting_since = time.monotonic()
                continue
            failed[shard] = import_step_failure(
                kind="shard", index=shard, reason=Message(gettext_noop("failed twice; last %(reason)s"), reason=reason)
            )
            pending.pop(shard)
        not_started = [run for run in pending.values() if not run.started]
        if not_started and time.monotonic() - waiting_since > settings.ONEC_SHARD_START_TIMEOUT_SECONDS:
            reason = Message(
                gettext_noop(
                    "no worker of the pool %(pool)s picked it up in %(seconds)s s: start `python -m flows.shard_worker` "
                    "on the hosts that import photos (docs/several-machines.md)"
                ),
                pool=SHARD_POOL, seconds=settings.ONEC_SHARD_START_TIMEOUT_SECONDS,
            )
            for run in not_started:
                _cancel(run.flow_run_id, str(reason))
                failed[run.shard] = import_step_failure(kind="shard", index=run.shard, reason=reason)
                pending.pop(run.shard)
        if on_poll:
            on_poll()
    return [failed[shard] for shard in sorted(failed)]


def _heartbeat_lost(run: ShardRun) -> bool:
    """True when a run the parent has seen running for longer than the heartbeat timeout
    sent no heartbeat within it."""
    timeout = settings.ONEC_SHARD_HEARTBEAT_TIMEOUT_SECONDS
    if not timeout or run.running_since is None or time.monotonic() - run.running_since < timeout:
        return False
    since = datetime.now(timezone.utc) - timedelta(seconds=timeout)
    with get_client(sync_client=True) as client:
        page = client.read_events(
            filter=EventFilter(
                occurred=EventOccurredFilter(since=since),
                event=EventNameFilter(name=[HEARTBEAT_EVENT]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{run.flow_run_id}"]),
            ),
            limit=1,
        )
    return not page.events


def _mark_crashed(flow_run_id: uuid.UUID, reason: Message):
    """The shard run crashed, its state saying why in English (Prefect's store), the run's log in the site's language."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id=flow_run_id, state=Crashed(message=str(reason)), force=True)
    get_run_logger().warning("%s", gettext("shard run %(run)s: %(reason)s") % {"run": flow_run_id, "reason": reason.translated()})
    return Crashed(message=str(reason))


def _states(flow_run_ids: list[uuid.UUID]) -> dict:
    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids)))
    return {flow_run.id: flow_run.state for flow_run in flow_runs}


def _cancel(flow_run_id: uuid.UUID, reason: str) -> None:
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id=flow_run_id, state=Cancelling(message=reason), force=True)
