"""One CPU-bound image import on one worker and on several, side by side.

    .venv/bin/python bench/shards.py --products 1000 --images 3 --workers 2 --shards 2 --repeat 2
                                     [--shard-worker fork|process] [--one-core-hosts]

Shard workers on this machine stand for hosts. Against one Prefect server (started here,
every port on 127.0.0.1) and one PostgreSQL database re-made for every import, it
alternates, `--repeat` times, two set-ups:
  1 worker, 1 shard    `import_1c images --validate-images`: the chunks on the command's own
                       thread pool, cold into a fresh media root; then again, nothing changed
  W workers, S shards  the same with `--shards S`: the parent in the command, the shards on
                       W shard workers (`flows.shard_worker`, or with `--shard-worker
                       process` Prefect's `prefect worker start`), one run at a time each
and prints medians and ratios as a table and as one JSON line (last line). Validating
decodes every photo (and with ONEC_IMAGE_RENDITIONS set, renditions are made): the
CPU-bound import, the case where a second host pays. The exchange is `bench/run.py`'s
(generated once under --work-dir, 60 KB photos).

After each sharded run it prints the shard runs' Prefect state timeline (when each was
triggered, claimed, started, ended, in seconds after the parent began); the table also gives
PostgreSQL's own counters for the import database per run (transactions committed, rows
inserted, updated, deleted, read), so sharded and unsharded runs can be compared for work.

CPU s is user + system time of the command, the Prefect server and the shard workers with
the flow runs they started (PostgreSQL not counted); cores = CPU s / wall s. On one machine
W workers share its cores with each other and with the unsharded run's threads, so
`--one-core-hosts` makes every worker a one-core host (CPU affinity, one chunk thread), and
the unsharded command one too: the comparison a second real host makes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from run import REPO_DIR, Target, generate_exchange, manage, prepare, run_timed, sync

from devtools.stack import PREFECT, SHARD_POOL, LocalStack, StackError

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _pinned(command: list[str], core: int | None) -> list[str]:
    return ["taskset", "-c", str(core), *command] if core is not None else command


def _tree_cpu_seconds(root: int) -> float:
    """User + system time of a process and its descendants, alive or reaped (flow runs,
    the server's uvicorn)."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(stat.parent.name)] = (int(fields[1]), sum(int(value) for value in fields[11:15]))
    tree, grown = set(), {root}
    while grown:
        tree |= grown
        grown = {pid for pid, (ppid, _) in stats.items() if ppid in grown}
    return sum(stats[pid][1] for pid in tree & stats.keys()) / CLOCK_TICKS


class PrefectStack:
    """A Prefect server, the deployments and `workers` shard workers (one run at a time each),
    started by the one stack launcher (devtools/stack.py)."""

    def __init__(self, work: Path, env: dict, *, workers: int, shard_worker: str, one_core_hosts: bool):
        self.work, self.env, self.workers = work, env, workers
        self.shard_worker, self.one_core_hosts = shard_worker, one_core_hosts
        self.stack = LocalStack(work, env)

    def __enter__(self) -> PrefectStack:
        self.env["PREFECT_API_URL"] = self.stack.api_url
        worker_env = {"ONEC_IMPORT_MAX_WORKERS": "1"} if self.one_core_hosts else {}
        cores = len(os.sched_getaffinity(0))
        try:
            self.stack.start_prefect()
            for number in range(self.workers):
                name = f"bench-host-{number}"
                pin = tuple(_pinned([], number % cores if self.one_core_hosts else None))
                if self.shard_worker == "fork":
                    self.stack.start_shard_worker(name, part=f"shard-worker-{number}", command_prefix=pin, env=worker_env)
                else:
                    self.stack.start(f"shard-worker-{number}", *pin, *PREFECT, "worker", "start", "--pool", SHARD_POOL,
                                     "--type", "process", "--limit", "1", "--name", name, env=worker_env)
        except StackError as exc:
            self.stack.stop()
            sys.exit(f"bench: {exc}")
        return self

    def cpu_seconds(self) -> float:
        """CPU so far of the server and of the shard workers with their flow runs."""
        return sum(_tree_cpu_seconds(process.pid) for process, _ in self.stack.processes)

    def __exit__(self, *exc) -> None:
        self.stack.stop()


def _api(api_url: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"{api_url}{path}", data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"}, method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


_DATABASE_WORK = ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched")


def database_work(url: str) -> dict[str, int]:
    """PostgreSQL's own counters of the import database so far: transactions committed and
    rows written and read (statistics reach them when a connection's transaction ends, at
    most a second later)."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        row = conn.execute(f"SELECT {', '.join(_DATABASE_WORK)} FROM pg_stat_database WHERE datname = %s",
                           (name,)).fetchone()
    return dict(zip(_DATABASE_WORK, row))


def shard_timeline(api_url: str) -> list[str]:
    """Where the last sharded run's time went, from Prefect's own state history: for the
    parent and each shard run, when each state began, in seconds after the parent started."""
    recent = _api(api_url, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 20})
    shards = [run for run in recent if run["name"].startswith("shard-") and run.get("parent_task_run_id")]
    if not shards:
        return []
    parent_id = _api(api_url, f"/task_runs/{shards[0]['parent_task_run_id']}")["flow_run_id"]
    shards = [run for run in shards
              if _api(api_url, f"/task_runs/{run['parent_task_run_id']}")["flow_run_id"] == parent_id]
    lines = []
    origin = None
    for run in [_api(api_url, f"/flow_runs/{parent_id}"), *sorted(shards, key=lambda run: run["name"])]:
        states = sorted(_api(api_url, f"/flow_run_states/?flow_run_id={run['id']}"), key=lambda s: s["timestamp"])
        origin = origin if origin is not None else _seconds(states[0]["timestamp"])
        steps = " -> ".join(f"{state['name']} {_seconds(state['timestamp']) - origin:+.2f}" for state in states)
        lines.append(f"  {run['name'] if run['name'].startswith('shard-') else 'parent'}: {steps}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="shard workers (hosts) of the sharded set-up")
    parser.add_argument("--shards", type=int, default=None, help="shards of the sharded set-up (default: --workers)")
    parser.add_argument("--shard-worker", choices=("fork", "process"), default="fork",
                        help="fork: `python -m flows.shard_worker`; process: `prefect worker start`")
    parser.add_argument("--one-core-hosts", action="store_true",
                        help="every worker, and the unsharded command, on one core of its own with one chunk thread")
    parser.add_argument("--prefect-on-postgres", action="store_true",
                        help="the Prefect server's own database in PostgreSQL (<name>_prefect), not SQLite")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/onec_bench_shards",
                        help="PostgreSQL (the workers share it); <name>_run is dropped and created per import")
    parser.add_argument("--work-dir", type=Path, default=REPO_DIR / "var" / "bench")
    args = parser.parse_args()
    shards = args.shards or args.workers

    work = args.work_dir.resolve() / f"{args.products}x{args.images}"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "shards-stderr.log"
    log.write_text("")
    exchange = work / "exchange"
    files = generate_exchange(exchange, products=args.products, images=args.images, with_pictures=True, seed=1)
    target = Target(args.database_url, work)
    media = work / "media-shards"
    # The workers' flow runs read these from their environment: one fixed database name and
    # media root, re-made before every import.
    env = {
        **os.environ,
        "PREFECT_HOME": str(work / "prefect-shards"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "DO_NOT_TRACK": "1",
        "PYTHONUNBUFFERED": "1",
        "MEDIA_ROOT": str(media),
        "ONEC_DATA_DIR": str(exchange),
        "DATABASE_URL": target.fresh("run"),
    }
    if args.prefect_on_postgres:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = target.fresh("prefect").replace(
            "postgres://", "postgresql+asyncpg://", 1
        )
    shutil.rmtree(work / "prefect-shards", ignore_errors=True)
    one, many = "1 worker, 1 shard", f"{args.workers} workers, {shards} shards"
    runs: dict[str, list[dict]] = {f"{setup}, {state}": [] for setup in (one, many) for state in ("cold", "nothing changed")}
    with PrefectStack(work, env, workers=args.workers, shard_worker=args.shard_worker,
                      one_core_hosts=args.one_core_hosts) as stack:
        for round_no in range(args.repeat):
            for setup in (one, many):
                target.fresh("run")
                shutil.rmtree(media, ignore_errors=True)
                prepare(env, exchange, log)
                command = manage("import_1c", "images", "--validate-images", "--json", "--data-dir", str(exchange),
                                 *(["--shards", str(shards)] if setup == many else []))
                if setup == one and args.one_core_hosts:
                    command = _pinned(command, 0)
                command_env = {**env, **({"ONEC_IMPORT_MAX_WORKERS": "1"} if args.one_core_hosts else {})}
                for state in ("cold", "nothing changed"):
                    sync()
                    stack_cpu = stack.cpu_seconds()
                    work_before = database_work(env["DATABASE_URL"])
                    result = run_timed(command, command_env, log=log)
                    result["cpu_seconds"] += stack.cpu_seconds() - stack_cpu
                    time.sleep(1.5)  # the last connections' statistics reach pg_stat_database
                    result["database"] = {key: value - work_before[key]
                                          for key, value in database_work(env["DATABASE_URL"]).items()}
                    report = result["report"]
                    if result["exit"] or report.get("processed") != args.products:
                        sys.exit(f"bench: {' '.join(command)} failed or did not process every product; see {log}")
                    result["flow_seconds"] = target.flow_seconds(env["DATABASE_URL"], report.get("session_id"))
                    runs[f"{setup}, {state}"].append(result)
                    if setup == many:
                        timeline = "\n".join(shard_timeline(env["PREFECT_API_URL"]))
                        print(f"bench: {setup}, {state}, round {round_no + 1}: states, s after the parent began\n"
                              f"{timeline}", file=sys.stderr)
            print(f"bench: round {round_no + 1}/{args.repeat} done", file=sys.stderr)

    def median(results: list[dict], key: str) -> float:
        return round(statistics.median(r[key] for r in results), 2)

    summary = {
        "products": args.products, "photos": len(files), "workers": args.workers, "shards": shards,
        "shard_worker": args.shard_worker, "one_core_hosts": args.one_core_hosts,
        "prefect_server_database": "postgresql" if args.prefect_on_postgres else "sqlite",
        "renditions": os.environ.get("ONEC_IMAGE_RENDITIONS", "(default)"),
        "median_seconds": {name: median(results, "seconds") for name, results in runs.items()},
        "median_flow_seconds": {name: median(results, "flow_seconds") for name, results in runs.items()},
        "median_cpu_seconds": {name: median(results, "cpu_seconds") for name, results in runs.items()},
        "runs_seconds": {name: [round(r["seconds"], 2) for r in results] for name, results in runs.items()},
        "median_database_work": {name: {key: statistics.median(r["database"][key] for r in results)
                                        for key in _DATABASE_WORK} for name, results in runs.items()},
    }
    wall, cpu = summary["median_seconds"], summary["median_cpu_seconds"]
    summary["speed-up, cold"] = round(wall[f"{one}, cold"] / wall[f"{many}, cold"], 2)
    summary["sharding overhead, nothing changed (s)"] = round(
        wall[f"{many}, nothing changed"] - wall[f"{one}, nothing changed"], 2
    )
    print(f"{'run':<40}{'wall s':>9}{'flow s':>9}{'CPU s':>9}{'cores':>7}   runs (wall s)")
    for name in runs:
        print(f"{name:<40}{wall[name]:>9}{summary['median_flow_seconds'][name]:>9}{cpu[name]:>9}"
              f"{cpu[name] / wall[name]:>7.2f}   {summary['runs_seconds'][name]}")
    print(f"{'database work (median)':<40}" + "".join(f"{key:>14}" for key in _DATABASE_WORK))
    for name in runs:
        print(f"{name:<40}" + "".join(f"{summary['median_database_work'][name][key]:>14}" for key in _DATABASE_WORK))
    print(f"speed-up, cold: {summary['speed-up, cold']}x; sharding overhead with nothing to copy: "
          f"{summary['sharding overhead, nothing changed (s)']} s")
    print(json.dumps(summary, ensure_ascii=False))
    shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
