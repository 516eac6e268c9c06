"""Image import at shop scale, measured against `cp -r` of the same files.

    .venv/bin/python bench/run.py --products 10000 --images 3 --repeat 3

Generates (once, cached under --work-dir) a 1C exchange of N products x K unique JPEGs of
about 60 KB, then repeats, alternating:
  a  `cp -r goods/import_files` to a fresh directory (the physical limit)
  r  `rsync -a` of the same onto a copy with nothing to copy (the tool of a no-change night;
     the copy is `cp -al`, made untimed: same names, sizes and mtimes)
  b  `import_1c images` into a fresh media root and database (catalog imported untimed)
  c  the same import again, nothing changed
  d  again after 1% of the photos were replaced in place (only those must be rewritten)
  e  orchestration only: N products, no pictures at all (Prefect + database, 0 files)
and prints medians, ratios, CPU seconds, the load average at each step's start and peak
RSS as a table and as one JSON line (last line). Each import is a separate `manage.py
import_1c images --json` process, as a user runs it; its wall time includes Python
start-up and, without --prefect-api-url or --prefect-server, Prefect's embedded server.

`--storage s3` runs against a local SeaweedFS bucket (started for the run, every port on
127.0.0.1), side by side with the tool an admin would use to sync the folder, and the
local-media series next to it in the same rounds:
  a  `rclone copy import_files` into a fresh bucket (as many transfers as our uploads)
  f  `rclone sync` of the same, nothing changed
  b, c, d  as above, media in a fresh bucket per round
  g  step c with media on the local disk instead (MEDIA_ROOT), against the same database:
     its StoredImage rows say nothing of where photos live (not run unless asked)
  h, j  `cp -r` and `rsync -a` with nothing to copy (steps a and r of the local series)
  i, k, l  steps b, c, d into local media with a database of their own; d and l import
     the same replaced photos
and counts the S3 requests of every step from the server's metrics (SeaweedFS counts a
HEAD as a GET; the import's storage probe is one PUT, GET and DELETE).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from commerceml import writer as cml
from commerceml.layout import GOODS_DIRNAME, IMPORT_FILES_DIRNAME, picture_path

REPO_DIR = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_DEBUG", "1")  # benchmarks are development runs, as they were measured (docs/settings.md)
MANAGE = REPO_DIR / "backend" / "manage.py"
STEPS = {
    "a": "cp -r import_files",
    "r": "rsync -a, nothing to copy",
    "b": "import, cold",
    "c": "import, nothing changed",
    "d": "import, 1% replaced",
    "e": "import, 0 files (orchestration)",
}
S3_STEPS = {
    "a": "rclone copy import_files",
    "f": "rclone sync, nothing changed",
    "b": "import to S3, cold",
    "c": "import to S3, nothing changed",
    "g": "import to local media, nothing changed, S3's database",
    "d": "import to S3, 1% replaced",
    "h": "cp -r import_files",
    "i": "import to local media, cold",
    "j": "rsync -a, nothing to copy",
    "k": "import to local media, nothing changed",
    "l": "import to local media, 1% replaced",
}
# The steps that run a tool, not the import.
TOOL_STEPS = "afhjr"


# --- the exchange ------------------------------------------------------------------------

def base_jpeg(target_bytes: int) -> bytes:
    """One real photo-like JPEG of about `target_bytes` (smooth gradients plus noise)."""
    from PIL import Image

    rng = random.Random(1)
    side = 420
    image = Image.radial_gradient("L").resize((side, side)).convert("RGB")
    noise = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
    candidates = []
    for step in range(1, 21):
        buffer = io.BytesIO()
        Image.blend(image, noise, step / 40).save(buffer, "JPEG", quality=85)
        candidates.append(buffer.getvalue())
    return min(candidates, key=lambda data: abs(len(data) - target_bytes))


def unique_jpeg(base: bytes, tag: str) -> bytes:
    """The base image with a COM segment naming `tag` right after SOI: still a valid JPEG,
    different bytes for every file, no re-encoding."""
    comment = tag.encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def generate_exchange(root: Path, *, products: int, images: int, with_pictures: bool, seed: int) -> list[Path]:
    """goods/goods.xml plus goods/import_files/XX/<guid>_<file>.jpg, as 1C writes them."""
    if (root / "ready.json").is_file():
        return [Path(p) for p in json.loads((root / "ready.json").read_text())["files"]] if with_pictures else []
    if root.exists():
        shutil.rmtree(root)
    goods_dir = root / GOODS_DIRNAME
    (goods_dir / IMPORT_FILES_DIRNAME).mkdir(parents=True)
    rng = random.Random(seed)
    base = base_jpeg(60_000)
    files: list[Path] = []
    goods: list[cml.Goods] = []
    for index in range(products):
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        pictures = []
        for number in range(images if with_pictures else 0):
            path = picture_path(guid, str(uuid.UUID(int=rng.getrandbits(128), version=4)), "jpg")
            file = goods_dir / path
            file.parent.mkdir(exist_ok=True)
            file.write_bytes(unique_jpeg(base, f"{guid}/{number}"))
            files.append(file)
            pictures.append(path)
        goods.append(cml.Goods(guid, f"Товар {index}", article=f"A{index}", pictures=pictures))
    cml.write_file(goods_dir, "goods.xml", cml.CommerceMLWriter(catalog_id="bench").goods(goods))
    (root / "ready.json").write_text(json.dumps({"files": [str(p) for p in files]}))
    return files


def replace_photos(files: list[Path], *, share: float, round_no: int) -> int:
    """Overwrite `share` of the photos in place with new bytes (as a 1C re-export does)."""
    rng = random.Random(round_no)
    chosen = rng.sample(files, max(1, int(len(files) * share)))
    base = base_jpeg(60_000)
    for path in chosen:
        path.write_bytes(unique_jpeg(base, f"{path.name}/replaced/{uuid.uuid4()}"))
    return len(chosen)


# --- processes ---------------------------------------------------------------------------

def _peak_rss_mib(pid: int, stop: threading.Event, peak: dict) -> None:
    """Follow the process' own high-water mark (VmHWM) until it exits."""
    while not stop.is_set():
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak["main"] = max(peak.get("main", 0), int(line.split()[1]) / 1024)
        except (FileNotFoundError, ProcessLookupError):
            return
        stop.wait(0.1)


def run_timed(cmd: list[str], env: dict, *, log: Path) -> dict:
    """Wall time, CPU, exit code and peak RSS of one process (and the largest of its
    children), and the machine's load average (1 min) when it started."""
    load = os.getloadavg()[0]
    started = time.monotonic()
    with open(log, "ab") as err:
        err.write(f"\n$ {' '.join(cmd)}\n".encode())
        err.flush()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err, cwd=REPO_DIR)
        stop, peak = threading.Event(), {}
        watcher = threading.Thread(target=_peak_rss_mib, args=(proc.pid, stop, peak), daemon=True)
        watcher.start()
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        stop.set()
        watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = out.decode().strip().splitlines()
    report = {}
    if lines:
        try:
            report = json.loads(lines[-1])
        except json.JSONDecodeError:
            pass
    return {
        "seconds": seconds,
        # CPU of the process and the children it waited for (the embedded Prefect server):
        # steadier than wall time on a disk whose speed swings from one minute to the next.
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "exit": proc.returncode,
        "load": round(load, 1),
        "rss_mib": round(peak.get("main", 0), 1),
        "rss_tree_mib": round(usage.ru_maxrss / 1024, 1),
        "report": report,
    }


class Target:
    """A fresh database per import series: SQLite file, or a PostgreSQL database."""

    def __init__(self, database_url: str | None, work_dir: Path):
        self.database_url = database_url
        self.work_dir = work_dir

    def flow_seconds(self, url: str, session_id: int | None) -> float | None:
        """The session's own duration (flow start to end), without process and server start-up."""
        if not session_id:
            return None
        query = f"SELECT started_at, finished_at FROM integrations_importsession WHERE id = {int(session_id)}"
        if url.startswith("sqlite:///"):
            import sqlite3
            from datetime import datetime

            with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
                started, finished = (datetime.fromisoformat(v) for v in conn.execute(query).fetchone())
        else:
            import psycopg

            with psycopg.connect(url) as conn:
                started, finished = conn.execute(query).fetchone()
        return (finished - started).total_seconds()

    def fresh(self, name: str) -> str:
        if not self.database_url:
            path = self.work_dir / f"{name}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return f"sqlite:///{path}"
        from devtools.postgres import fresh_database

        server, _, database = self.database_url.rpartition("/")
        return fresh_database(server, f"{database}_{name}".replace("-", "_"))


def manage(*args: str) -> list[str]:
    return [sys.executable, str(MANAGE), *args]


def prepare(env: dict, data_dir: Path, log: Path) -> None:
    """Migrate and import the catalog (untimed)."""
    for cmd in (manage("migrate", "--noinput", "-v", "0"), manage("import_1c", "catalog", "--data-dir", str(data_dir), "--json")):
        result = run_timed(cmd, env, log=log)
        if result["exit"] != 0:
            sys.exit(f"bench: {' '.join(cmd)} failed; see {log}")


def sync() -> None:
    """Let the previous step's dirty pages reach the disk before the next one is timed."""
    subprocess.run(["sync"], check=True)


# --- the run -----------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=3, help="photos per product")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--replace-share", type=float, default=0.01)
    parser.add_argument("--chunk-size", type=int, help="passed to import_1c images (default: chosen from the catalog size)")
    parser.add_argument("--database-url", help="a PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/onec_bench "
                        "(databases <name>_* are dropped and created); default: SQLite files in the work dir")
    parser.add_argument("--prefect-api-url", help="a running `prefect server start` (e.g. http://127.0.0.1:4200/api); "
                        "default: each import starts Prefect's embedded server")
    parser.add_argument("--prefect-server", action="store_true",
                        help="start one `prefect server start` for the whole run and import against it")
    parser.add_argument("--work-dir", type=Path, default=REPO_DIR / "var" / "bench")
    parser.add_argument("--steps", help="which steps to run (default: arbcde; with --storage s3: afbcdhijkl)")
    parser.add_argument("--storage", choices=("local", "s3"), default="local",
                        help="s3: media in a local SeaweedFS bucket against rclone, and the local series beside it "
                             "(default: local MEDIA_ROOT only)")
    parser.add_argument("--upload-workers", type=int, default=16,
                        help="s3: ONEC_IMAGE_UPLOAD_WORKERS, and rclone's --transfers/--checkers (default 16)")
    parser.add_argument("--renditions", default="", metavar="SPEC",
                        help="ONEC_IMAGE_RENDITIONS of the imports (default: none, so the import copies what cp -r "
                             "and rclone copy; renditions are measured by bench/renditions.py)")
    parser.add_argument("--keep", action="store_true", help="keep the generated exchange (it is reused when kept)")
    args = parser.parse_args()
    args.steps = args.steps or ("afbcdhijkl" if args.storage == "s3" else "arbcde")

    work = args.work_dir.resolve() / f"{args.products}x{args.images}"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "stderr.log"
    log.write_text("")
    started = time.monotonic()
    exchange = work / "exchange"
    files = generate_exchange(exchange, products=args.products, images=args.images, with_pictures=True, seed=1)
    empty = work / "exchange-empty"
    generate_exchange(empty, products=args.products, images=0, with_pictures=False, seed=1)
    shutil.rmtree(work / "rsync-target", ignore_errors=True)
    print(f"bench: {len(files)} photos ready in {time.monotonic() - started:.1f} s ({work})", file=sys.stderr)

    target = Target(args.database_url, work)
    env = {
        **os.environ,
        "PREFECT_HOME": str(work / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
        "ONEC_IMAGE_RENDITIONS": args.renditions,
    }
    env.pop("PREFECT_API_URL", None)
    server = prefect_server_start(work, env) if args.prefect_server else None
    if server:
        args.prefect_api_url = server.api_url
    if args.prefect_api_url:
        env.update(PREFECT_API_URL=args.prefect_api_url, PREFECT_SERVER_EPHEMERAL_ENABLED="false")
    images_cmd = ["import_1c", "images", "--json"] + (["--chunk-size", str(args.chunk_size)] if args.chunk_size else [])
    runs: dict[str, list[dict]] = {step: [] for step in args.steps}
    try:
        if args.storage == "s3":
            run_s3_rounds(args, runs, work=work, exchange=exchange, files=files, env=env, target=target,
                          images_cmd=images_cmd, log=log)
        for round_no in range(args.repeat if args.storage == "local" else 0):
            run_copy_steps(args, runs, "ar", work=work, exchange=exchange, env=env, log=log)
            media = work / "media"
            series = Series("bcd", {**env, "MEDIA_ROOT": str(media), "DATABASE_URL": target.fresh("bench")})
            if any(step in args.steps for step in "bcd"):
                shutil.rmtree(media, ignore_errors=True)
                prepare(series.env, exchange, log)
                run_import_steps(args, runs, [series], round_no=round_no, exchange=exchange, files=files,
                                 target=target, images_cmd=images_cmd, log=log)
            if "e" in args.steps:
                empty_env = {**env, "MEDIA_ROOT": str(work / "media-empty"), "DATABASE_URL": target.fresh("empty")}
                prepare(empty_env, empty, log)
                sync()
                result = run_timed(manage(*images_cmd, "--data-dir", str(empty)), empty_env, log=log)
                result["flow_seconds"] = target.flow_seconds(empty_env["DATABASE_URL"], result["report"].get("session_id"))
                runs["e"].append(result)
                _check("e", runs["e"][-1], files=0, log=log)
            print(f"bench: round {round_no + 1}/{args.repeat} done", file=sys.stderr)
    finally:
        if server:
            server.stop()

    summary = summarize(runs, args, files=len(files), log=log)
    if args.storage == "s3":
        summary["storage"] = "s3 (SeaweedFS, local), local media beside it"
        summary["upload_workers"] = args.upload_workers
        summary["s3_requests"] = {step: [r.get("requests") for r in results] for step, results in runs.items()}
    print_table(summary)
    print(json.dumps(summary, ensure_ascii=False))
    shutil.rmtree(work / "rsync-target", ignore_errors=True)
    if not args.keep:
        for media in ("media", "media-local"):
            shutil.rmtree(work / media, ignore_errors=True)


def prefect_server_start(work: Path, env: dict):
    """One `prefect server start` on a free port for the whole run (SQLite under the work
    dir), as a worker host runs against; stopped at the end."""
    sys.path.insert(0, str(REPO_DIR))
    from devtools.stack import PREFECT, LocalStack

    stack = LocalStack(work / "prefect-server", env)
    stack.start("prefect-server", *PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(stack.prefect_port))
    try:
        stack.wait_until_up(f"{stack.api_url}/health", seconds=600)  # a loaded machine starts it slowly
    except BaseException:
        stack.stop()
        raise
    print(f"bench: Prefect server at {stack.api_url}", file=sys.stderr)
    return stack


def run_copy_steps(args, runs, steps: str, *, work: Path, exchange: Path, env: dict, log: Path) -> None:
    """`cp -r` of import_files into a fresh directory (steps[0]) and `rsync -a` of it onto a
    tree with nothing to copy (steps[1]): a `cp -al` of it, made once, untimed (the same
    names, sizes and mtimes, and no second copy of the bytes on the disk)."""
    source = exchange / "goods" / IMPORT_FILES_DIRNAME
    copy_step, rsync_step = steps
    if copy_step in args.steps:
        copy = work / "cp-target"
        shutil.rmtree(copy, ignore_errors=True)
        sync()
        runs[copy_step].append(run_timed(["cp", "-r", str(source), str(copy)], env, log=log))
        _check(copy_step, runs[copy_step][-1], files=0, log=log)
        shutil.rmtree(copy)
    if rsync_step in args.steps:
        linked = work / "rsync-target"
        if not linked.exists():
            subprocess.run(["cp", "-al", str(source), str(linked)], check=True)
        sync()
        runs[rsync_step].append(run_timed(["rsync", "-a", f"{source}/", f"{linked}/"], env, log=log))
        _check(rsync_step, runs[rsync_step][-1], files=0, log=log)


@dataclass
class Series:
    """One media storage and database the import runs into: its cold, nothing-changed and
    1%-replaced steps (letters), and how to count its S3 requests (None: local media)."""

    steps: str
    env: dict
    count_requests: Callable[[], dict] | None = None


def run_import_steps(args, runs, series: list[Series], *, round_no, exchange, files, target, images_cmd, log,
                     also_unchanged: tuple[str, dict] | None = None):
    """The cold, then the nothing-changed, then (after 1% of the photos were replaced on
    disk, once for all series) the 1%-replaced step of each series. `also_unchanged`: step
    g (S3 only), the nothing-changed run on local media against the first series' database,
    next to its step c (first every other round, so neither always meets warmer caches)."""
    replaced = None

    def run(step: str, one: Series, env: dict | None = None) -> None:
        if step not in args.steps:
            return
        sync()
        before = one.count_requests() if one.count_requests else None
        result = run_timed(manage(*images_cmd, "--data-dir", str(exchange)), env or one.env, log=log)
        if one.count_requests:
            result["requests"] = _requests_between(before, one.count_requests())
        result["flow_seconds"] = target.flow_seconds(one.env["DATABASE_URL"], result["report"].get("session_id"))
        result["replaced_on_disk"] = replaced
        runs[step].append(result)
        _check(step, result, files=len(files), log=log)

    for one in series:
        run(one.steps[0], one)
    for number, one in enumerate(series):
        if number == 0 and also_unchanged and round_no % 2:
            run(also_unchanged[0], one, also_unchanged[1])
        run(one.steps[1], one)
        if number == 0 and also_unchanged and not round_no % 2:
            run(also_unchanged[0], one, also_unchanged[1])
    if any(one.steps[2] in args.steps for one in series):
        replaced = replace_photos(files, share=args.replace_share, round_no=round_no)
    for one in series:
        run(one.steps[2], one)


def _check(step: str, result: dict, *, files: int, log: Path) -> None:
    """A run that did not do what the step says is not a measurement. Each step is also
    printed as it ends (stderr), so a long run that is stopped still leaves its numbers."""
    print(f"bench: step {step}: {result['seconds']:.2f} s, CPU {result['cpu_seconds']:.2f} s, load {result['load']}, "
          f"flow {result.get('flow_seconds')}, RSS {result['rss_mib']} MiB, requests {result.get('requests')}, "
          f"copied {result['report'].get('copied')}", file=sys.stderr, flush=True)
    report = result["report"]
    if step in TOOL_STEPS:
        if result["exit"] != 0:
            sys.exit(f"bench: step {step} exited {result['exit']}; see {log}")
        return
    replaced = result.get("replaced_on_disk")
    expected_copied = {"b": files, "i": files, "c": 0, "k": 0, "g": 0, "e": 0, "d": replaced, "l": replaced}[step]
    if result["exit"] != 0 or report.get("status") != "completed" or report.get("copied") != expected_copied:
        sys.exit(f"bench: step {step} ({STEPS.get(step) or S3_STEPS[step]}) did not do its job: exit {result['exit']}, "
                 f"report {report}, expected copied={expected_copied}; see {log}")


# Side by side: (name, step, against). Local series: a r b c d; S3: a f b c d beside h j i k l.
RATIOS = (
    ("b/a", "b", "a"), ("c/a", "c", "a"), ("c/r", "c", "r"), ("d/c", "d", "c"), ("c/f", "c", "f"),
    ("c/g", "c", "g"), ("i/h", "i", "h"), ("k/j", "k", "j"), ("l/k", "l", "k"),
)


def summarize(runs: dict[str, list[dict]], args, *, files: int, log: Path) -> dict:
    def median(step: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[step])

    done = [step for step, results in runs.items() if results]
    imports = [step for step in done if step not in TOOL_STEPS]
    medians = {step: median(step, "seconds") for step in done}
    cpu = {step: median(step, "cpu_seconds") for step in done}
    pairs = [(name, top, bottom) for name, top, bottom in RATIOS if top in done and bottom in done]
    stderr_text = log.read_text(errors="replace")
    return {
        "products": args.products,
        "images_per_product": args.images,
        "files": files,
        "repeat": args.repeat,
        "chunk_size": args.chunk_size,
        "database": "postgresql" if args.database_url else "sqlite",
        "renditions": args.renditions,
        "prefect": args.prefect_api_url or "embedded server",
        "cpus": os.cpu_count(),
        "median_seconds": {step: round(value, 2) for step, value in medians.items()},
        "median_cpu_seconds": {step: round(value, 2) for step, value in cpu.items()},
        "median_flow_seconds": {step: round(median(step, "flow_seconds"), 2) for step in imports},
        "cpu_ms_per_photo": {step: round(cpu[step] / files * 1000, 3) for step in ("a", "b", "h", "i") if step in cpu},
        "median_load": {step: round(median(step, "load"), 1) for step in done},
        "all_seconds": {step: [round(r["seconds"], 2) for r in runs[step]] for step in done},
        "all_cpu_seconds": {step: [round(r["cpu_seconds"], 2) for r in runs[step]] for step in done},
        "ratios": {name: round(medians[top] / medians[bottom], 2) for name, top, bottom in pairs if medians[bottom]},
        "cpu_ratios": {name: round(cpu[top] / cpu[bottom], 2) for name, top, bottom in pairs if cpu[bottom]},
        # Side by side within each round: on a shared machine steadier than the medians' ratio.
        "round_ratios": {name: [round(t["seconds"] / b["seconds"], 2) for t, b in zip(runs[top], runs[bottom])]
                         for name, top, bottom in pairs},
        "peak_rss_mib": {step: max(r["rss_mib"] for r in runs[step]) for step in imports},
        "peak_rss_tree_mib": {step: max(r["rss_tree_mib"] for r in runs[step]) for step in imports},
        "copied": {step: [r["report"].get("copied") for r in runs[step]] for step in imports},
        "tracebacks_in_stderr": stderr_text.count("Traceback"),
    }


def print_table(summary: dict) -> None:
    medians, rss = summary["median_seconds"], summary["peak_rss_mib"]
    print(f"\n{summary['products']} products x {summary['images_per_product']} photos = {summary['files']} files, "
          f"{summary['database']}, Prefect: {summary['prefect']}, {summary['cpus']} CPUs, {summary['repeat']} rounds, median of each step:")
    flow, cpu, load = summary["median_flow_seconds"], summary["median_cpu_seconds"], summary["median_load"]
    print(f"  {'step':<44} {'median s':>9} {'of it flow s':>13} {'CPU s':>7} {'load':>5} {'peak RSS MiB':>13}  all runs (s)")
    labels = {**STEPS, **S3_STEPS} if summary.get("storage", "").startswith("s3") else STEPS
    requests = summary.get("s3_requests", {})
    for step, label in labels.items():
        if step in medians:
            runs = ", ".join(f"{s:.1f}" for s in summary["all_seconds"][step])
            print(
                f"  {step} {label:<42} {medians[step]:>9.2f} {flow.get(step, ''):>13} {cpu[step]:>7.2f}"
                f" {load[step]:>5} {rss.get(step, ''):>13}  {runs}"
            )
            if requests.get(step) and requests[step][0] is not None:
                print(f"      S3 requests (last round): {requests[step][-1]}")
    print("  wall ratios: " + ", ".join(f"{name} = {value}" for name, value in summary["ratios"].items()))
    print("  CPU ratios:  " + ", ".join(f"{name} = {value}" for name, value in summary["cpu_ratios"].items()))
    print("  CPU ms per photo: " + ", ".join(f"{step} {value}" for step, value in summary["cpu_ms_per_photo"].items()))
    for name, values in summary["round_ratios"].items():
        print(f"  {name} per round: {', '.join(str(v) for v in values)}")
    print(f"  tracebacks in stderr: {summary['tracebacks_in_stderr']}\n")


# --- S3 (SeaweedFS) against rclone -------------------------------------------------------

def run_s3_rounds(args, runs, *, work: Path, exchange: Path, files: list[Path], env: dict, target, images_cmd, log):
    """The S3 steps, alternating per round, against one local SeaweedFS: a fresh bucket for
    rclone and one for the import each round, requests per step from the server's metrics;
    and the local series (cp -r, rsync -a, the import into local media) in the same round."""
    sys.path.insert(0, str(REPO_DIR))
    import boto3
    from botocore.config import Config

    from devtools.seaweed import seaweed_start

    data = work / "seaweedfs"
    shutil.rmtree(data, ignore_errors=True)
    server = seaweed_start(data_dir=data)
    try:
        client = boto3.client(
            "s3", endpoint_url=server.endpoint_url, aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"),
        )
        rclone = str(Path(sys.executable).with_name("rclone"))
        rclone_env = rclone_environ(server, env)
        workers = str(args.upload_workers)
        source = str(exchange / "goods" / "import_files")
        for round_no in range(args.repeat):
            rclone_bucket = f"rclone-{round_no}"
            client.create_bucket(Bucket=rclone_bucket)
            for step, verb in (("a", "copy"), ("f", "sync")):
                if step in args.steps:
                    cmd = [rclone, verb, source, f"bench:{rclone_bucket}/products", "--transfers", workers,
                           "--checkers", workers, "--s3-no-check-bucket"]
                    sync()
                    before = _s3_requests(server, rclone_bucket)
                    result = run_timed(cmd, rclone_env, log=log)
                    result["requests"] = _requests_between(before, _s3_requests(server, rclone_bucket))
                    result["flow_seconds"] = None
                    runs[step].append(result)
                    _check(step, result, files=len(files), log=log)
            run_copy_steps(args, runs, "hj", work=work, exchange=exchange, env=env, log=log)
            bucket = f"import-{round_no}"
            client.create_bucket(Bucket=bucket)
            s3_env = {
                **env, **server.environ(), "AWS_STORAGE_BUCKET_NAME": bucket,
                "ONEC_IMAGE_UPLOAD_WORKERS": workers, "DATABASE_URL": target.fresh("bench"),
            }
            local_media = work / "media-local"
            shutil.rmtree(local_media, ignore_errors=True)
            same_database_env = {**s3_env, "MEDIA_ROOT": str(local_media / "same-database")}
            del same_database_env["AWS_STORAGE_BUCKET_NAME"]
            local_env = {**env, "MEDIA_ROOT": str(local_media / "own-database"), "DATABASE_URL": target.fresh("local")}
            series = [Series("bcd", s3_env, lambda: _s3_requests(server, bucket))]
            if any(step in args.steps for step in "ikl"):
                prepare(local_env, exchange, log)
                series.append(Series("ikl", local_env))
            prepare(s3_env, exchange, log)
            run_import_steps(args, runs, series, round_no=round_no, exchange=exchange, files=files, target=target,
                             images_cmd=images_cmd, log=log, also_unchanged=("g", same_database_env))
            print(f"bench: S3 round {round_no + 1}/{args.repeat} done", file=sys.stderr)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)


def rclone_environ(server, env: dict) -> dict:
    """`env` plus the rclone remote `bench:` pointing at the SeaweedFS `server`."""
    return {
        **env,
        "RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "SeaweedFS",
        "RCLONE_CONFIG_BENCH_ENDPOINT": server.endpoint_url, "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": server.access_key,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": server.secret_key,
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
    }


def _requests_between(before: dict, after: dict) -> dict:
    return {kind: n - before.get(kind, 0) for kind, n in after.items() if n - before.get(kind, 0)}


def _s3_requests(server, bucket: str) -> dict:
    """Requests the server counted for `bucket` so far, by type (GET includes HEAD)."""
    import urllib.request

    counts: dict[str, int] = {}
    for line in urllib.request.urlopen(server.metrics_url, timeout=10).read().decode().splitlines():
        if line.startswith("SeaweedFS_s3_request_total{") and f'bucket="{bucket}"' in line:
            kind = line.split('type="', 1)[1].split('"', 1)[0]
            counts[kind] = counts.get(kind, 0) + int(float(line.rsplit(" ", 1)[1]))
    return counts


if __name__ == "__main__":
    main()
