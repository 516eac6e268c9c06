"""A worker whose flow runs start warm: the imports' (onec-imports) and the shards'.

    python -m flows.warm_worker --pool onec-imports [--name HOST] [--limit N] [--query-seconds 1]
    python -m flows.shard_worker --limit 1 [--name HOST]        (the shard pool's, flows/shard_worker.py)

Prefect's process worker starts every flow run as a new Python process that imports
Prefect, Django and the flows before the run's first line: seconds of CPU per run, which a
1C exchange pays twice per file (its preparation run and the import run) and a sharded
import once per shard (bench/RESULTS.md). This worker is Prefect's process worker with one
difference: a run starts as a fork of the worker, which imported all of that once. The
claim of a run (two workers never run one), its Submitting state, the run's id as its
infrastructure pid and crash reports from exit codes are Prefect's (`BaseWorker`); the
run's own states, hooks and heartbeats are its engine's (`run_flow`), in the fork.
Cancelling a run that has started is this worker's: Prefect's public worker only stops
runs that never started, so the worker watches each of its runs, kills the fork of a run
moved to Cancelling, ends it Cancelled and runs the flow's on_cancellation hooks, as
Prefect's runner does; a fork that dies without ending its run gets the on_crashed hooks.
`prefect worker start --pool …` still runs every deployment, only slower to start them.

Public Prefect modules only (an upgrade must not break it); the stack tests run it
(tests/e2e, tests/exchange: every import and 1C exchange; two shard hosts, a frozen host,
cancel).
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys
import threading
import warnings
from uuid import UUID

import anyio
import anyio.abc
import pydantic
from django.db import connections
from django.utils.translation import gettext
from prefect.client.schemas.objects import FlowRun
from prefect.context import SettingsContext, get_settings_context
from prefect.engine import handle_engine_signals
from prefect.events.worker import EventsWorker
from prefect.exceptions import InfrastructureNotFound, UnfinishedRun
from prefect.flow_engine import run_flow
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_WORKER_QUERY_SECONDS, Settings, temporary_settings
from prefect.states import Cancelled, Crashed, State
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult

import flows.images  # noqa: F401  (imported once here: every forked run starts with it; other flows on first use)

with warnings.catch_warnings():
    # Prefect registers worker classes by pool type; this one stands in for ProcessWorker
    # in this process only, which Prefect would warn about.
    warnings.simplefilter("ignore", UserWarning)

    class WarmWorker(ProcessWorker):
        """Prefect's process worker, starting each flow run as a fork of itself and stopping
        the fork of a run that is cancelled while it runs."""

        def __init__(self, *args, cancel_poll_seconds: float = 1.0, **kwargs):
            super().__init__(*args, **kwargs)
            self.cancel_poll_seconds = cancel_poll_seconds
            self.forks: dict[int, multiprocessing.process.BaseProcess] = {}  # pid -> the fork running a run

        async def run(
            self,
            flow_run: FlowRun,
            configuration: ProcessJobConfiguration,
            task_status: anyio.abc.TaskStatus[int] | None = None,
        ) -> ProcessWorkerResult:
            deployment = await self.client.read_deployment(flow_run.deployment_id)
            # Its module is imported once, here (then every fork has it).
            flow = await anyio.to_thread.run_sync(_in_turn, load_flow_from_entrypoint, deployment.entrypoint)
            connections.close_all()  # a child must never share a database socket with the worker
            process = multiprocessing.get_context("fork").Process(
                target=_run_forked, args=(flow, flow_run, configuration.env), name=f"flow-run-{flow_run.id}"
            )
            # Forked from a thread without a running event loop, so the child inherits none.
            await anyio.to_thread.run_sync(_in_turn, _start, asyncio.get_running_loop(), process)
            self.forks[process.pid] = process
            killed = False
            try:
                (task_status or anyio.TASK_STATUS_IGNORED).started(process.pid)
                while process.exitcode is None:
                    await anyio.to_thread.run_sync(process.join, self.cancel_poll_seconds)
                    if process.exitcode is None and await self._is_cancelling(flow_run.id):
                        killed = _kill(process)
                cancelled = await self._end_cancelled(flow_run)
            finally:
                self.forks.pop(process.pid, None)
            # The hooks the killed or dead fork could not run, as Prefect's runner runs them.
            ended = await self.client.read_flow_run(flow_run.id)
            if cancelled and killed:
                await self._run_hooks(flow.on_cancellation_hooks, flow, ended, ended.state)
            elif process.exitcode and not (ended.state and ended.state.is_final()):
                crash = Crashed(message=f"the flow run's process exited with status {process.exitcode}")
                await self._run_hooks(flow.on_crashed_hooks, flow, ended, crash)
            # A cancelled run's fork ended as asked: status 0, or Prefect would report the
            # SIGKILL as a crash, with a hint about memory limits.
            status = 0 if cancelled else process.exitcode
            return ProcessWorkerResult(status_code=status, identifier=str(process.pid))

        async def _run_hooks(self, hooks, flow: Flow, flow_run: FlowRun, state: State) -> None:
            """Each hook in a thread (they are Django code, blocking), a failing one logged."""
            for hook in hooks or ():
                try:
                    await anyio.to_thread.run_sync(_in_turn, hook, flow, flow_run, state)
                except Exception:
                    self.get_flow_run_logger(flow_run).exception("%s", gettext("hook %(hook)s of flow run '%(run)s' failed") % {
                        "hook": getattr(hook, "__name__", hook), "run": flow_run.name,
                    })

        async def kill_infrastructure(
            self, infrastructure_pid: str, configuration: ProcessJobConfiguration, grace_seconds: int = 30
        ) -> None:
            """Prefect's cancel of a run that has a process but has not begun: kill its fork."""
            process = self.forks.get(int(infrastructure_pid))
            if process is None:
                raise InfrastructureNotFound(f"no fork of this worker has the pid {infrastructure_pid}")
            _kill(process)

        async def _is_cancelling(self, flow_run_id: UUID) -> bool:
            state = (await self.client.read_flow_run(flow_run_id)).state
            return bool(state and state.is_cancelling())

        async def _end_cancelled(self, flow_run: FlowRun) -> bool:
            """A run whose fork has ended while it was Cancelling (killed above, or its engine
            refused to begin a cancelled run) ends Cancelled: nobody else moves it on. True
            when the run has ended Cancelled."""
            state = (await self.client.read_flow_run(flow_run.id)).state
            if state and state.is_cancelling():
                await self.client.set_flow_run_state(flow_run.id, Cancelled(message=state.message), force=True)
                self.get_flow_run_logger(flow_run).info("%s", gettext("Flow run '%(run)s' cancelled: its process is stopped") % {
                    "run": flow_run.name,
                })
                return True
            return bool(state and state.is_cancelled())


def _kill(process: multiprocessing.process.BaseProcess) -> bool:
    """SIGKILL, not SIGTERM: a run's engine killed by SIGTERM reports itself Crashed, which
    a sharded import's parent would take for a lost host and run the shard again. False when
    it had just ended on its own."""
    try:
        os.kill(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


# A fork copies the locks other threads hold at that moment, held, with nobody in the child to
# release them: pydantic builds a model on first use under one lock for every model, and a
# fork taken while another thread of the worker built one waited for it for ever (seen in
# bench/production_load.py). So what may import modules or build models in the worker's
# threads (loading a flow, the hooks) takes turns with forking, and every model known is
# built before a fork: neither the child nor another thread has one left to build.
_FORKING = threading.Lock()


def _in_turn(function, *args):
    with _FORKING:
        return function(*args)


def _start(loop: asyncio.AbstractEventLoop, process: multiprocessing.process.BaseProcess) -> None:
    """Fork while the event loop's thread waits for it. That thread writes the worker's log:
    a fork taken while it was inside a write left the stream's lock held in the child, whose
    first log line then waited for ever (a run left Pending, its fork silent; a 1C exchange
    heard "waiting for a worker" until it gave up). The worker's own lines still in the
    streams' buffers go out first, or the child would write them again."""
    _models_built()
    parked, resume = threading.Event(), threading.Event()

    def park() -> None:
        parked.set()
        resume.wait()

    loop.call_soon_threadsafe(park)
    parked.wait()
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # output that cannot go out never stops a run
                pass
        process.start()
    finally:
        resume.set()


def _models_built() -> None:
    """Build every pydantic model whose build was left for its first use (Prefect's client
    schemas are many of them); a walk over the classes when all are built."""
    classes = pydantic.BaseModel.__subclasses__()
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if not cls.__pydantic_complete__:
            cls.model_rebuild(raise_errors=False)


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
    status = 1
    try:
        with SettingsContext(profile=get_settings_context().profile, settings=Settings()):
            with handle_engine_signals(flow_run.id):
                try:
                    run_flow(flow, flow_run=flow_run)
                except UnfinishedRun:  # cancelled before it could begin: the worker ends it Cancelled
                    pass
        status = 0
    except SystemExit as verdict:
        status = verdict.code if isinstance(verdict.code, int) else 1
    finally:
        # The run's last logs and events reach the server before the child is gone.
        APILogWorker.drain_all()
        EventsWorker.drain_all()
        os._exit(status)


def main(argv: list[str] | None = None, *, pool: str | None = None, limit: int | None = None) -> None:
    """The command line; `pool` and `limit` are the defaults of a worker for one pool
    (flows/shard_worker.py)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", default=pool, required=pool is None, help="the work pool it serves")
    parser.add_argument("--limit", type=int, default=limit,
                        help="runs at once on this host (default: no limit, as Prefect's worker)")
    parser.add_argument("--name", help="the worker's name in Prefect (default: a random one)")
    parser.add_argument("--query-seconds", type=float, default=1.0,
                        help="how often it asks the server for runs, and each running run's state (for a cancel): "
                             "a run waits at most this long to start or to be stopped")
    args = parser.parse_args(argv)
    worker = WarmWorker(
        work_pool_name=args.pool, limit=args.limit, name=args.name, cancel_poll_seconds=args.query_seconds
    )
    with temporary_settings(updates={PREFECT_WORKER_QUERY_SECONDS: args.query_seconds}):
        asyncio.run(worker.start())


if __name__ == "__main__":
    main()
