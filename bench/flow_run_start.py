"""How long a flow run of the imports pool waits to begin: Prefect's process worker against
the project's warm worker (flows/warm_worker.py), side by side.

    .venv/bin/python bench/flow_run_start.py --runs 10 --repeat 2

One Prefect server with the project's work pools and deployments (devtools.stack), one
PostgreSQL database; then, `--repeat` times, each worker in turn serves the pool
`onec-imports` alone while `--runs` runs of the cheapest deployment (`check-import-alerts/
alerts`: one query when nothing is overdue) are asked for one after the other, each once the
one before it ended, as a 1C exchange's files are. Prefect's worker runs each as `python -m
prefect.engine` (prefect.yaml's command); the warm worker forks itself. Per run: seconds from
the request to Running and to Completed; per worker: the CPU seconds of the worker and of the
runs it started (the server's not counted). Medians per worker, and their ratios, last.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from uuid import UUID

from run import REPO_DIR, manage, run_timed
from shards import _tree_cpu_seconds

from devtools.stack import IMPORTS_POOL, IMPORTS_WORKER_ARGS, PREFECT, LocalStack, StackError

DEPLOYMENT = "check-import-alerts/alerts"
WORKERS = {
    "prefect": (*PREFECT, "worker", "start", "--pool", IMPORTS_POOL, "--type", "process"),
    "warm": (sys.executable, *IMPORTS_WORKER_ARGS),
}


def _times(client, deployment_id: UUID, runs: int) -> list[tuple[float, float]]:
    """(to Running, to Completed) of each run, one after the other."""
    times = []
    for _ in range(runs):
        asked = time.monotonic()
        run = client.create_flow_run_from_deployment(deployment_id)
        running = None
        while time.monotonic() - asked < 120 or running is not None:
            state = client.read_flow_run(run.id).state
            if state.is_running() and running is None:
                running = time.monotonic() - asked
            if state.is_final():
                if not state.is_completed():
                    sys.exit(f"bench: run {run.id} ended {state.type.value}: {state.message}")
                times.append((running if running is not None else time.monotonic() - asked, time.monotonic() - asked))
                break
            time.sleep(0.05)
        else:
            sys.exit(f"bench: run {run.id} did not start in 120 s (is the worker running? see its log)")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/onec_bench_flow_start")
    parser.add_argument("--work-dir", type=Path, default=REPO_DIR / "var" / "bench-flow-start")
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": args.database_url, "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_HOME": str(args.work_dir / "prefect")}
    log = args.work_dir / "bench.log"
    args.work_dir.mkdir(parents=True, exist_ok=True)
    stack = LocalStack(args.work_dir, env)
    try:
        stack.start_prefect()
        if run_timed(manage("migrate", "--noinput", "-v", "0"), stack.env, log=log)["exit"]:
            sys.exit(f"bench: migrate failed; see {log}")
        os.environ["PREFECT_API_URL"] = stack.api_url
        from prefect.client.orchestration import get_client

        results: dict[str, list] = {name: [] for name in WORKERS}
        cpu: dict[str, list[float]] = {name: [] for name in WORKERS}
        with get_client(sync_client=True) as client:
            deployment_id = client.read_deployment_by_name(DEPLOYMENT).id
            for round_no in range(args.repeat):
                for name, command in WORKERS.items():
                    since = len(stack.processes)
                    worker = stack.start(f"worker-{name}-{round_no}", *command)
                    time.sleep(3)  # its first poll
                    times = _times(client, deployment_id, args.runs)
                    cpu[name].append(_tree_cpu_seconds(worker.pid) / args.runs)
                    stack.stop(since)
                    results[name] += times
                    print(f"round {round_no + 1} {name:8s} to Running median {statistics.median(t[0] for t in times):.2f} s, "
                          f"to Completed {statistics.median(t[1] for t in times):.2f} s, "
                          f"CPU {cpu[name][-1]:.2f} s per run", flush=True)
    except StackError as exc:
        sys.exit(f"bench: {exc}")
    finally:
        stack.stop()
    print(f"\n{args.runs} runs x {args.repeat} rounds of {DEPLOYMENT}, one after the other; load {os.getloadavg()[0]:.1f}")
    print(f"{'worker':10s} {'to Running s':>13s} {'to Completed s':>15s} {'CPU s per run':>14s}")
    medians = {}
    for name in WORKERS:
        medians[name] = (statistics.median(t[0] for t in results[name]), statistics.median(t[1] for t in results[name]),
                         statistics.median(cpu[name]))
        print(f"{name:10s} {medians[name][0]:13.2f} {medians[name][1]:15.2f} {medians[name][2]:14.2f}")
    ratio = [w / p for w, p in zip(medians["warm"], medians["prefect"])]
    print(f"warm / prefect: to Running {ratio[0]:.2f}, to Completed {ratio[1]:.2f}, CPU {ratio[2]:.2f}")


if __name__ == "__main__":
    main()
