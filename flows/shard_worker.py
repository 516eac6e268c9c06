"""The worker for the shard pool, whose flow runs start warm.

    python -m flows.shard_worker --limit 1 [--name HOST] [--query-seconds 1]

Prefect's process worker starts every flow run as a new Python process that imports
Prefect, Django and the flows before the run's first line: for a shard, most of the
sharding overhead (bench/RESULTS.md, "Sharded image import"). This worker is Prefect's
process worker with one difference: a run starts as a fork of the worker, which imported
all of that once. The rest is Prefect's: the claim of a run (two workers never run one),
heartbeats, cancellation (the run's process is killed), crash reports from exit codes.
`prefect worker start --pool onec-images-shards` still runs shards, only slower to start.

It builds on Prefect 3.8's runner internals (`FlowRunExecutorContext`, `ProcessHandle`, the
control channel), which `ProcessWorker.run` itself uses; tests/e2e/test_sharded_import.py
runs it (two hosts, a frozen host, cancel).
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import warnings

import anyio
import anyio.abc
from django.db import connections
from prefect._internal.concurrency.services import QueueService
from prefect._internal.control_listener import configure_from_env
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.context import SettingsContext, get_settings_context
from prefect.engine import handle_engine_signals
from prefect.exceptions import UnfinishedRun
from prefect.flow_engine import run_flow
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.runner._control_channel import ControlChannel
from prefect.runner._flow_run_executor import FlowRunExecutorContext
from prefect.runner._process_manager import ProcessHandle
from prefect.settings import PREFECT_WORKER_QUERY_SECONDS, Settings, temporary_settings
from prefect.states import Cancelled
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult

import flows.images  # noqa: F401  (imported once here: every forked run starts with it)
from flows.shards import SHARD_POOL

with warnings.catch_warnings():
    # Prefect registers worker classes by pool type; this one stands in for ProcessWorker
    # in this process only, which Prefect would warn about.
    warnings.simplefilter("ignore", UserWarning)

    class ShardWorker(ProcessWorker):
        """Prefect's process worker, starting each flow run as a fork of itself."""

        async def run(
            self,
            flow_run: FlowRun,
            configuration: ProcessJobConfiguration,
            task_status: anyio.abc.TaskStatus[int] | None = None,
        ) -> ProcessWorkerResult:
            deployment = await self.client.read_deployment(flow_run.deployment_id)
            flow = load_flow_from_entrypoint(deployment.entrypoint)  # its module is imported already
            execution = None
            async with FlowRunExecutorContext() as context:
                starter = _ForkStarter(flow, env=configuration.env, control_channel=context.control_channel)
                executor = context.create_executor(
                    flow_run, starter, resolve_flow=_returning(flow), propose_submitting=False
                )

                async def execute(*, task_status=anyio.TASK_STATUS_IGNORED) -> None:
                    nonlocal execution
                    execution = await executor.submit(task_status=task_status)

                async with anyio.create_task_group() as group:
                    handle = await group.start(execute)
                    (task_status or anyio.TASK_STATUS_IGNORED).started(handle.pid)
            if execution is None or execution.status_code is None:
                raise RuntimeError(f"flow run {flow_run.id}: its process did not start")
            return ProcessWorkerResult(status_code=execution.status_code, identifier=str(execution.handle.pid))


def _returning(flow: Flow):
    """The flow for Prefect's on-cancellation and on-crashed hooks."""
    async def resolve(flow_run: FlowRun) -> Flow:
        return flow
    return resolve


class _ForkStarter:
    """Starts one flow run in a forked child of the worker (a Prefect `ProcessStarter`), like
    Prefect's own starters registered with the control channel: a cancel is announced to the
    run's engine before its process is killed, so the run ends Cancelled, not Crashed."""

    def __init__(self, flow: Flow, *, env: dict[str, str | None], control_channel: ControlChannel):
        self.flow, self.env, self.control_channel = flow, env, control_channel

    async def start(self, flow_run: FlowRun, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        port, token = self.control_channel.register(flow_run.id)
        env = {**self.env, "PREFECT__CONTROL_PORT": str(port), "PREFECT__CONTROL_TOKEN": token}
        connections.close_all()  # a child must never share a database socket with the worker
        process = multiprocessing.get_context("fork").Process(
            target=_run_forked, args=(self.flow, flow_run, env), name=f"flow-run-{flow_run.id}"
        )
        try:
            # Forked from a thread without a running event loop, so the child inherits none.
            await anyio.to_thread.run_sync(process.start)
        except BaseException:
            self.control_channel.unregister(flow_run.id)
            raise
        task_status.started(ProcessHandle(process))
        await anyio.to_thread.run_sync(process.join)


def _run_forked(flow: Flow, flow_run: FlowRun, env: dict[str, str | None]) -> None:
    """The child: the worker's signal handling undone, the run's environment set, the run.

    It ends with `os._exit`, as a forked child should: the worker's threads, finalizers and
    at-exit handlers are not its own; the exit status is the engine's verdict."""
    signal.set_wakeup_fd(-1)  # the worker's event loop's: a signal to the child must not wake it
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    configure_from_env()  # the control channel's port and token
    status = 1
    try:
        with SettingsContext(profile=get_settings_context().profile, settings=Settings()):
            with handle_engine_signals(flow_run.id):
                try:
                    run_flow(flow, flow_run=flow_run)
                except UnfinishedRun:  # cancelled while it was being started: it never began
                    _cancelled(flow_run.id)
        status = 0
    except SystemExit as verdict:
        status = verdict.code if isinstance(verdict.code, int) else 1
    finally:
        QueueService.drain_all()  # the run's last logs and events reach the server
        os._exit(status)


def _cancelled(flow_run_id) -> None:
    """End a run the engine left Cancelling (cancel came before it could begin) Cancelled:
    no one else will, as its process was not yet known to the worker when it was cancelled."""
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
        if state and state.is_cancelling():
            client.set_flow_run_state(flow_run_id, Cancelled(message=state.message))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=1, help="shard runs at once on this host (default 1)")
    parser.add_argument("--name", help="the worker's name in Prefect (default: a random one)")
    parser.add_argument("--query-seconds", type=float, default=1.0,
                        help="how often it asks the server for shard runs: a shard waits at most this long to start")
    args = parser.parse_args()
    worker = ShardWorker(work_pool_name=SHARD_POOL, limit=args.limit, name=args.name)
    with temporary_settings(updates={PREFECT_WORKER_QUERY_SECONDS: args.query_seconds}):
        asyncio.run(worker.start())


if __name__ == "__main__":
    main()
