"""One CPU-bound image import on one worker and on two, side by side.

    .venv/bin/python bench/shards.py --products 10000 --images 3 --repeat 2

Two shard workers on this machine stand for two hosts. Against one Prefect server (started
here, every port on 127.0.0.1) and one PostgreSQL database re-made for every import, it
alternates, `--repeat` times:
  1  `import_1c images --validate-images` (shards=1: the chunks on the command's own
     thread pool), cold, into a fresh media root; then again, nothing changed
  2  the same with `--shards 2`: the parent in the command, one shard on each worker
and prints medians and ratios as a table and as one JSON line (last line). Validating
decodes every photo, so the import is CPU-bound: the case where a second host pays. The
exchange is `bench/run.py`'s (generated once under --work-dir, 60 KB photos).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from run import REPO_DIR, Target, generate_exchange, manage, prepare, run_timed, sync

PREFECT = [sys.executable, "-m", "prefect"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrefectStack:
    """A Prefect server, the deployments and `workers` shard workers (one run each at a time)."""

    def __init__(self, work: Path, env: dict, workers: int):
        self.work, self.env, self.workers = work, env, workers
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> PrefectStack:
        port = _free_port()
        self.env["PREFECT_API_URL"] = api = f"http://127.0.0.1:{port}/api"
        self._start("server", *PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port))
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{api}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"bench: the Prefect server did not start; see {self.work / 'server.log'}")
                time.sleep(0.5)
        for pool in ("onec-imports", "onec-images-shards"):
            self._run("work-pool", "create", pool, "--type", "process")
        self._run("--no-prompt", "deploy", "--all")
        for number in range(self.workers):
            self._start(f"shard-worker-{number}", *PREFECT, "worker", "start", "--pool", "onec-images-shards",
                        "--type", "process", "--limit", "1", "--name", f"bench-host-{number}")
        return self

    def _start(self, name: str, *command: str) -> None:
        log = (self.work / f"{name}.log").open("w")
        self.processes.append(subprocess.Popen(command, cwd=REPO_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def _run(self, *args: str) -> None:
        result = subprocess.run([*PREFECT, *args], cwd=REPO_DIR, env=self.env, capture_output=True, text=True)
        if result.returncode:
            sys.exit(f"bench: prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="shard workers, and shards of the sharded run")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/onec_bench_shards",
                        help="PostgreSQL (the workers share it); <name>_run is dropped and created per import")
    parser.add_argument("--work-dir", type=Path, default=REPO_DIR / "var" / "bench")
    args = parser.parse_args()

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
    shutil.rmtree(work / "prefect-shards", ignore_errors=True)
    runs: dict[str, list[dict]] = {"1 shard, cold": [], "1 shard, nothing changed": [],
                                   f"{args.workers} shards, cold": [], f"{args.workers} shards, nothing changed": []}
    with PrefectStack(work, env, args.workers):
        for round_no in range(args.repeat):
            for shards in (1, args.workers):
                target.fresh("run")
                shutil.rmtree(media, ignore_errors=True)
                prepare(env, exchange, log)
                command = manage("import_1c", "images", "--validate-images", "--json", "--data-dir", str(exchange),
                                 *(["--shards", str(shards)] if shards > 1 else []))
                for state in ("cold", "nothing changed"):
                    sync()
                    result = run_timed(command, env, log=log)
                    report = result["report"]
                    if result["exit"] or report.get("processed") != args.products:
                        sys.exit(f"bench: {' '.join(command)} failed or did not process every product; see {log}")
                    result["flow_seconds"] = target.flow_seconds(env["DATABASE_URL"], report.get("session_id"))
                    runs[f"{shards} shard{'s' if shards > 1 else ''}, {state}"].append(result)
            print(f"bench: round {round_no + 1}/{args.repeat} done", file=sys.stderr)

    summary = {
        "products": args.products, "photos": len(files), "workers": args.workers,
        "median_seconds": {name: round(statistics.median(r["seconds"] for r in results), 2)
                           for name, results in runs.items()},
        "median_flow_seconds": {name: round(statistics.median(r["flow_seconds"] for r in results), 2)
                                for name, results in runs.items()},
        "runs_seconds": {name: [round(r["seconds"], 2) for r in results] for name, results in runs.items()},
    }
    wall = summary["median_seconds"]
    summary["speed-up, cold"] = round(wall["1 shard, cold"] / wall[f"{args.workers} shards, cold"], 2)
    summary["sharding overhead, nothing changed (s)"] = round(
        wall[f"{args.workers} shards, nothing changed"] - wall["1 shard, nothing changed"], 2
    )
    print(f"{'run':<32}{'wall s (median)':>18}{'flow s':>10}   runs")
    for name in runs:
        print(f"{name:<32}{wall[name]:>18}{summary['median_flow_seconds'][name]:>10}   {summary['runs_seconds'][name]}")
    print(f"speed-up, cold: {summary['speed-up, cold']}x; sharding overhead with nothing to copy: "
          f"{summary['sharding overhead, nothing changed (s)']} s")
    print(json.dumps(summary, ensure_ascii=False))
    shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
