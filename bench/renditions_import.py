"""The image import with renditions at shop scale, against the same import without them.

    .venv/bin/python bench/renditions_import.py --products 10000 --images 3 --repeat 3

Uses bench/run.py's generated exchange (N products x K unique 420x420 JPEGs of about 60 KB,
cached under --work-dir) and runs `manage.py import_1c images --json` processes, as a user
does, each round alternating:
  b   cold import, renditions on (ONEC_IMAGE_RENDITIONS, default spec) into a fresh media
      root and database
  b0  cold import, renditions off, into another fresh media root and database
  c   the renditions import again, nothing changed (must decode nothing: 0 renditions made,
      0 files copied, every rendition counted as kept)
  c0  the same media and database again with renditions off: what `c` costs without them
and prints medians (wall, the session's own flow seconds, CPU seconds, peak RSS) and the
differences c - c0 and b - b0, as a table and as one JSON line (last line).

`--large-photos N` also runs, once, step
  L   cold import, renditions on, of N products each showing a 40-megapixel camera JPEG and
      a 40-megapixel RGBA PNG (bench/renditions.py's files): the peak RSS of the import
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

from commerceml import writer as cml
from commerceml.layout import GOODS_DIRNAME, picture_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: the exchange, timed processes, fresh databases)

DEFAULT_SPEC = "webp:320,webp:800,webp:1600,jpeg:800"
STEPS = {
    "b": "import, cold, renditions",
    "b0": "import, cold, no renditions",
    "c": "import, nothing changed, renditions",
    "c0": "import, nothing changed, no renditions",
    "L": "import, cold, renditions, 40 MP photos",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=3, help="photos per product")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of c and c0")
    parser.add_argument("--cold-repeat", type=int, default=1, help="rounds of b and b0 (each makes every rendition)")
    parser.add_argument("--renditions", default=DEFAULT_SPEC, metavar="SPEC", help=f"default: {DEFAULT_SPEC}")
    parser.add_argument("--large-photos", type=int, default=0, metavar="N",
                        help="also import N products with a 40 MP JPEG and a 40 MP PNG each (step L)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite files under --work-dir)")
    parser.add_argument("--work-dir", type=Path, default=bench.REPO_DIR / "var" / "bench-renditions")
    args = parser.parse_args()

    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "stderr.log"
    log.write_text("")
    exchange = work / f"exchange-{args.products}x{args.images}"
    files = bench.generate_exchange(exchange, products=args.products, images=args.images, with_pictures=True, seed=7)
    target = bench.Target(args.database_url, work)
    base_env = {
        **os.environ,
        "PREFECT_HOME": str(work / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONUNBUFFERED": "1",
    }
    base_env.pop("PREFECT_API_URL", None)
    images_cmd = bench.manage("import_1c", "images", "--data-dir", str(exchange), "--json")
    runs: dict[str, list[dict]] = {step: [] for step in STEPS}

    def fresh(name: str, renditions: str, data_dir: Path = exchange) -> dict:
        media = work / f"media-{name}"
        shutil.rmtree(media, ignore_errors=True)
        env = {**base_env, "DATABASE_URL": target.fresh(name), "MEDIA_ROOT": str(media),
               "ONEC_IMAGE_RENDITIONS": renditions}
        bench.prepare(env, data_dir, log)
        return env

    def timed(step: str, env: dict) -> dict:
        bench.sync()
        result = bench.run_timed(images_cmd, env, log=log)
        report = result["report"]
        if result["exit"] != 0 or report.get("status") != "completed":
            sys.exit(f"bench: step {step} failed: {report or 'no report'}; see {log}")
        result["flow_seconds"] = target.flow_seconds(env["DATABASE_URL"], report.get("session_id"))
        runs[step].append(result)
        print(f"  {step:3} {STEPS[step]:40} {result['seconds']:7.2f} s  CPU {result['cpu_seconds']:7.2f} s  "
              f"copied {report.get('copied')}, renditions made {report.get('renditions_created')}, "
              f"kept {report.get('renditions_skipped')}", file=sys.stderr)
        return result

    with_renditions = None
    for round_no in range(max(args.repeat, args.cold_repeat) if args.repeat else 0):
        print(f"bench: round {round_no + 1}", file=sys.stderr)
        if round_no < args.cold_repeat or with_renditions is None:
            with_renditions = fresh("renditions", args.renditions)
            cold = timed("b", with_renditions)["report"]
            _check(cold["copied"] == len(files) and cold["renditions_created"] > 0 and cold["rendition_errors"] == 0,
                   "b", cold)
            timed("b0", fresh("plain", ""))
        if round_no < args.repeat:
            again = timed("c", with_renditions)["report"]
            _check(again["copied"] == 0 and again["renditions_created"] == 0 and again["rendition_errors"] == 0
                   and again["renditions_skipped"] == cold["renditions_created"], "c", again)
            timed("c0", {**with_renditions, "ONEC_IMAGE_RENDITIONS": ""})

    if args.large_photos:
        large = _large_exchange(work / f"exchange-40mp-{args.large_photos}", products=args.large_photos)
        env = fresh("large", args.renditions, large)
        result = bench.run_timed(bench.manage("import_1c", "images", "--data-dir", str(large), "--json"), env, log=log)
        _check(result["exit"] == 0 and result["report"].get("rendition_errors") == 0, "L", result["report"])
        runs["L"].append(result)

    summary = _summary(runs, args, files=len(files))
    _print_table(summary)
    print(json.dumps(summary))


def _large_exchange(root: Path, *, products: int) -> Path:
    """N products, each with a 40 MP JPEG (its own bytes) and a 40 MP RGBA PNG."""
    import renditions as renditions_bench  # bench/renditions.py: its 40 MP files

    huge = renditions_bench.photos(bench.REPO_DIR / "var" / "bench-renditions", big=0, small=0)["40 MP"]
    jpeg, png = (path.read_bytes() for path in huge)
    goods_dir = root / GOODS_DIRNAME
    goods = []
    for index in range(products):
        guid = f"4m000000-0000-0000-0000-{index:012d}"
        photo, cutout = picture_path(guid, "photo", "jpg"), picture_path(guid, "cutout", "png")
        (goods_dir / photo).parent.mkdir(parents=True, exist_ok=True)
        (goods_dir / photo).write_bytes(bench.unique_jpeg(jpeg, guid))
        (goods_dir / cutout).write_bytes(png)
        goods.append(cml.Goods(guid, f"Крупное фото {index}", pictures=[photo, cutout]))
    cml.write_file(goods_dir, "goods.xml", cml.CommerceMLWriter(catalog_id="bench").goods(goods))
    return root


def _check(ok: bool, step: str, report: dict) -> None:
    if not ok:
        sys.exit(f"bench: step {step} did not do what it must: {json.dumps(report)}")


def _summary(runs: dict[str, list[dict]], args, *, files: int) -> dict:
    def median(step: str, key: str) -> float | None:
        values = [run[key] for run in runs[step] if run.get(key) is not None]
        return round(statistics.median(values), 2) if values else None

    summary = {
        "products": args.products, "images": args.images, "files": files, "renditions": args.renditions,
        "repeat": args.repeat, "cold_repeat": args.cold_repeat, "cpus": os.cpu_count(),
        "database": "postgresql" if args.database_url else "sqlite",
        "steps": {
            step: {
                "label": STEPS[step],
                "median_seconds": median(step, "seconds"),
                "median_flow_seconds": median(step, "flow_seconds"),
                "median_cpu_seconds": median(step, "cpu_seconds"),
                "peak_rss_mib": max((run["rss_mib"] for run in runs[step]), default=None),
                "all_seconds": [round(run["seconds"], 2) for run in runs[step]],
                "renditions_created": runs[step][-1]["report"].get("renditions_created") if runs[step] else None,
            }
            for step in STEPS
        },
    }
    steps = summary["steps"]
    summary["nothing_changed_extra_seconds"] = _diff(steps["c"]["median_seconds"], steps["c0"]["median_seconds"])
    summary["nothing_changed_extra_flow_seconds"] = _diff(steps["c"]["median_flow_seconds"],
                                                          steps["c0"]["median_flow_seconds"])
    summary["cold_extra_seconds"] = _diff(steps["b"]["median_seconds"], steps["b0"]["median_seconds"])
    cold_cpu = _diff(steps["b"]["median_cpu_seconds"], steps["b0"]["median_cpu_seconds"])
    summary["cold_extra_cpu_seconds_per_photo"] = round(cold_cpu / files, 4) if cold_cpu is not None else None
    return summary


def _diff(a: float | None, b: float | None) -> float | None:
    return round(a - b, 2) if a is not None and b is not None else None


def _print_table(summary: dict) -> None:
    print(f"\n{summary['products']} products x {summary['images']} photos ({summary['files']} files), "
          f"{summary['database']}, renditions {summary['renditions']!r}, {summary['cpus']} CPUs")
    print(f"{'step':4} {'':40} {'median s':>9} {'flow s':>8} {'CPU s':>8} {'RSS MiB':>8}  all runs (s)")
    for step, row in summary["steps"].items():
        print(f"{step:4} {row['label']:40} {row['median_seconds'] or 0:9.2f} {row['median_flow_seconds'] or 0:8.2f} "
              f"{row['median_cpu_seconds'] or 0:8.2f} {row['peak_rss_mib'] or 0:8.1f}  "
              f"{', '.join(str(s) for s in row['all_seconds'])}")
    print(f"nothing changed, with - without renditions: {summary['nothing_changed_extra_seconds']} s "
          f"(flow {summary['nothing_changed_extra_flow_seconds']} s); cold: +{summary['cold_extra_seconds']} s, "
          f"+{summary['cold_extra_cpu_seconds_per_photo']} CPU s per photo")


if __name__ == "__main__":
    main()
