"""When each chunk of a cold image import plans, stores and commits: a timeline of one run,
showing whether chunk N+1 reads and hashes while chunk N uploads and commits (issue #23,
item 2).

    .venv/bin/python bench/chunk_timeline.py --products 10000 --storage s3 \\
        --database-url postgres://postgres@127.0.0.1:5432/onec_timeline

Generates bench/run.py's exchange (cached under --work-dir), imports the catalog, then runs
the image flow once, cold, in this process against a Prefect server started for the run,
in a process of its own (so Prefect reads the server's address at start), with the chunk
service's phases wrapped in timers (the bench's own; the product code is not changed). Per chunk thread (`import-chunk N`):
  plan    the products' query, path resolution and lstat, the StoredImage rows
  store   reading, hashing and writing each photo (on S3 in the shared upload pool)
  commit  the chunk's one transaction (rows, links, the products' image columns)
  record  the session's chunk row and progress
and, sampled every 20 ms, how many photos are being stored at once (on S3: uploads in
flight). Prints the first chunks as a text timeline, the overlap of phases between chunks,
the phase totals, and on its last line one JSON object; `--workers 1` runs one chunk at a
time for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_DIR / "backend"), str(REPO_DIR)]

from bench.run import Target, generate_exchange, prefect_server_start, prepare  # noqa: E402

PHASES = "plan", "store", "commit", "record"
SYMBOLS = {"plan": "p", "store": "s", "commit": "c", "record": "r"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10000)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--storage", choices=("local", "s3"), default="local")
    parser.add_argument("--workers", type=int, help="ONEC_IMPORT_MAX_WORKERS (default: the setting's)")
    parser.add_argument("--database-url", help="PostgreSQL URL (<name>_timeline is dropped and created); default SQLite")
    parser.add_argument("--work-dir", type=Path, default=REPO_DIR / "var" / "bench")
    parser.add_argument("--show", type=int, default=8, help="chunks drawn in the text timeline")
    parser.add_argument("--flow-only", type=Path, help=argparse.SUPPRESS)  # the child: run the flow on this exchange
    args = parser.parse_args()
    if args.flow_only:
        return run(args, exchange=args.flow_only)

    work = args.work_dir.resolve() / f"{args.products}x{args.images}"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "timeline.log"
    exchange = work / "exchange"
    files = generate_exchange(exchange, products=args.products, images=args.images, with_pictures=True, seed=1)
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "ONEC_IMAGE_RENDITIONS": "", "DATABASE_URL": Target(args.database_url, work).fresh("timeline")}
    env.pop("PREFECT_API_URL", None)
    if args.workers:
        env["ONEC_IMPORT_MAX_WORKERS"] = str(args.workers)
    seaweed = None
    media = work / "media-timeline"
    if args.storage == "s3":
        from devtools.seaweed import seaweed_start

        seaweed = seaweed_start(data_dir=work / "seaweedfs-timeline", bucket="timeline")
        env.update(seaweed.environ(), AWS_STORAGE_BUCKET_NAME="timeline")
    else:
        shutil.rmtree(media, ignore_errors=True)
        env["MEDIA_ROOT"] = str(media)
    server = prefect_server_start(work, env)
    try:
        env.update(PREFECT_API_URL=server.api_url, PREFECT_SERVER_EPHEMERAL_ENABLED="false")
        prepare(env, exchange, log)
        print(f"bench: {len(files)} photos, catalog imported; the flow starts", file=sys.stderr)
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--flow-only", str(exchange)], check=True,
                       env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"})
    finally:
        server.stop()
        if seaweed:
            seaweed.stop()


def run(args, *, exchange: Path) -> None:
    import django

    django.setup()
    from django.conf import settings

    import flows.images
    from apps.imports.services import images_import
    from flows.images import import_images

    spans: dict[str, list[tuple[str, float, float]]] = defaultdict(list)  # thread -> (phase, start, end)
    chunk_started: dict[str, float] = {}
    storing = [0]
    lock = threading.Lock()

    def timed(phase: str, function):
        def wrapper(*a, **kw):
            thread = threading.current_thread().name
            start = time.monotonic()
            if phase == "store":  # the plan ends where the photos start being stored
                spans[thread].append(("plan", chunk_started.pop(thread, start), start))
            try:
                return function(*a, **kw)
            finally:
                spans[thread].append((phase, start, time.monotonic()))
        return wrapper

    def chunk_start(function):
        def wrapper(*a, **kw):
            chunk_started[threading.current_thread().name] = time.monotonic()
            return function(*a, **kw)
        return wrapper

    def counted(function):
        def wrapper(*a, **kw):
            with lock:
                storing[0] += 1
            try:
                return function(*a, **kw)
            finally:
                with lock:
                    storing[0] -= 1
        return wrapper

    images_import.ImageBatch.store_all = timed("store", images_import.ImageBatch.store_all)
    images_import.ImageBatch._store = counted(images_import.ImageBatch._store)
    images_import._images_commit = timed("commit", images_import._images_commit)
    flows.images.product_images_import_chunk = chunk_start(flows.images.product_images_import_chunk)
    flows.images.import_session_record_chunk = timed("record", flows.images.import_session_record_chunk)

    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            samples.append((time.monotonic(), storing[0]))

    sampler = threading.Thread(target=sample, daemon=True)
    load = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    sampler.start()
    report = import_images(data_dir=str(exchange))
    wall = time.monotonic() - started
    stop.set()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)

    chunks = {thread: sorted(items, key=lambda item: item[1]) for thread, items in spans.items()
              if thread.startswith("import-chunk")}
    first = min(span[1] for items in chunks.values() for span in items)
    last = max(span[2] for items in chunks.values() for span in items)
    print(f"{args.products} products x {args.images} photos, {args.storage}, {len(chunks)} chunks of "
          f"{report.get('total_products', 0) // max(len(chunks), 1)}, {settings.ONEC_IMPORT_MAX_WORKERS} chunk "
          f"threads, {settings.ONEC_IMAGE_UPLOAD_WORKERS} upload workers; load {load:.1f}")
    photos = args.products * args.images
    print(f"flow wall {wall:.2f} s, CPU {cpu:.2f} s ({cpu * 1000 / photos:.3f} ms per photo); chunks from "
          f"{first - started:.2f} s to {last - started:.2f} s; copied {report.get('copied')}, errors {report.get('errors')}")
    draw(chunks, first=first, last=last, show=args.show)
    summary = {"products": args.products, "images_per_product": args.images, "storage": args.storage,
               "chunks": len(chunks), "chunk_threads": settings.ONEC_IMPORT_MAX_WORKERS, "load": round(load, 1),
               "flow_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "copied": report.get("copied"),
               **overlap(chunks, first=first, last=last)}
    busy = [count for at, count in samples if first <= at <= last]
    if busy:
        idle = sum(1 for count in busy if count == 0) / len(busy)
        print(f"photos being stored at once (every 20 ms between the first and last chunk): mean "
              f"{sum(busy) / len(busy):.1f}, max {max(busy)}, none {idle:.0%} of the time")
        summary.update(storing_mean=round(sum(busy) / len(busy), 1), storing_max=max(busy), storing_none=round(idle, 3))
    print(json.dumps(summary))


def draw(chunks: dict, *, first: float, last: float, show: int) -> None:
    """The first `show` chunks, one line each, a character per 1/100 of the span they cover."""
    shown = sorted(chunks, key=lambda thread: chunks[thread][0][1])[:show]
    end = max(span[2] for thread in shown for span in chunks[thread])
    step = (end - first) / 100
    print(f"timeline of the first {len(shown)} chunks, one column = {step * 1000:.0f} ms "
          "(p plan, s store, c commit, r record):")
    for thread in shown:
        line = [" "] * 100
        for phase, start, stop in chunks[thread]:
            for column in range(int((start - first) / step), min(int((stop - first) / step) + 1, 100)):
                line[column] = SYMBOLS[phase]
        print(f"  {thread:>16} |{''.join(line)}|")


def overlap(chunks: dict, *, first: float, last: float) -> dict:
    """For each phase: its total, and how much of it ran while another chunk was planning
    or storing (the overlap the issue asks for), at 10 ms resolution; printed and returned."""
    tick = 0.01
    ticks = int((last - first) / tick) + 1
    doing = {thread: [None] * ticks for thread in chunks}
    for thread, items in chunks.items():
        for phase, start, stop in items:
            for index in range(int((start - first) / tick), min(int((stop - first) / tick) + 1, ticks)):
                doing[thread][index] = phase
    totals = {phase: 0 for phase in PHASES}
    beside = {phase: 0 for phase in PHASES}
    for index in range(ticks):
        for thread, timeline in doing.items():
            phase = timeline[index]
            if phase is None:
                continue
            totals[phase] += 1
            if any(other[index] in ("plan", "store") for name, other in doing.items() if name != thread):
                beside[phase] += 1
    two = sum(1 for index in range(ticks) if sum(timeline[index] is not None for timeline in doing.values()) >= 2)
    print(f"two or more chunks at work: {two / ticks:.0%} of the chunks' span")
    for phase in PHASES:
        if totals[phase]:
            print(f"  {phase:6} {totals[phase] * tick:7.2f} s in all, {beside[phase] / totals[phase]:4.0%} of it "
                  "while another chunk planned or stored")
    return {"two_chunks_at_work": round(two / ticks, 3),
            "phase_seconds": {phase: round(totals[phase] * tick, 2) for phase in PHASES},
            "beside_another": {phase: round(beside[phase] / totals[phase], 3) for phase in PHASES if totals[phase]}}


if __name__ == "__main__":
    main()
