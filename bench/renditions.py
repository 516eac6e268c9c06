"""Rendition throughput: our service (Pillow) against `vipsthumbnail` and pyvips, side by side.

    .venv/bin/python bench/renditions.py [--photos 12] [--small 40] [--work-dir /tmp/bench-renditions]

Generates (once, cached under --work-dir) camera-like JPEGs (4000x3000, 2-5 MB: gradients +
noise at two scales, so they compress like photos), small photos (800x600) and two
40-megapixel files (a JPEG and a PNG), then measures for the default spec
(webp:320,webp:800,webp:1600,jpeg:800):
  - CPU seconds per photo: ours on one thread; `vipsthumbnail` (Debian libvips-tools) making
    the same sizes (one invocation per size over all files, start-up amortized); pyvips
    (`pyvips-binary`) when installed: one shrink-on-load to the widest, the rest from it
  - threads vs processes: wall time with 1 and 2 threads and with 2 processes, and how busy
    the cores were (CPU seconds / (wall x cores))
  - peak RSS of a fresh process (Django set up, as in the import) rendering the two
    40-megapixel files on 2 threads, and of vipsthumbnail doing the same
Prints a table and one JSON line (last line).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR / "backend"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # benchmarks are development runs, as they were measured (docs/settings.md)
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench-renditions.sqlite3")

SPEC = "webp:320,webp:800,webp:1600,jpeg:800"


def _django():
    import django

    django.setup()


# --- the photos --------------------------------------------------------------------------

def camera_like(size: tuple[int, int], *, seed: int, quality: int = 88, fmt: str = "JPEG") -> bytes:
    """A photo-like picture: smooth gradients, coarse and fine noise (no two seeds alike)."""
    from PIL import Image, ImageChops

    w, h = size
    linear = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    turned = linear.transpose(Image.Transpose.ROTATE_180)
    channels = []
    for index, sigma in enumerate((48, 40, 56)):
        coarse = Image.effect_noise((max(1, w // 2), max(1, h // 2)), sigma + seed % 7).resize(size, Image.Resampling.BILINEAR)
        fine = Image.effect_noise(size, 8)
        base = Image.blend(linear if index != 1 else radial, turned if index == 2 else radial, 0.4)
        channels.append(ImageChops.add(Image.blend(base, coarse, 0.5), fine, scale=1.0, offset=-100))
    image = Image.merge("RGB", channels)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": quality} if fmt == "JPEG" else {"compress_level": 1}))
    return buffer.getvalue()


def smooth_png(size: tuple[int, int]) -> bytes:
    """A large PNG with alpha that compresses well (a product cut-out): decoded in full."""
    from PIL import Image

    linear = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    image = Image.merge("RGBA", (linear, radial, linear.transpose(Image.Transpose.ROTATE_180), radial.point(lambda v: 255 - v)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def photos(work: Path, *, big: int, small: int) -> dict[str, list[Path]]:
    sets = {"camera 4000x3000": (big, (4000, 3000)), "small 800x600": (small, (800, 600))}
    found: dict[str, list[Path]] = {}
    for label, (count, size) in sets.items():
        folder = work / f"{size[0]}x{size[1]}"
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / f"photo{i:03}.jpg" for i in range(count)]
        for i, path in enumerate(paths):
            if not path.exists():
                path.write_bytes(camera_like(size, seed=i))
        found[label] = paths
    huge = work / "40mp"
    huge.mkdir(exist_ok=True)
    jpeg, png = huge / "photo40mp.jpg", huge / "cutout40mp.png"
    if not jpeg.exists():
        jpeg.write_bytes(camera_like((7744, 5164), seed=1))
    if not png.exists():
        png.write_bytes(smooth_png((7744, 5164)))
    found["40 MP"] = [jpeg, png]
    return found


# --- the contenders ----------------------------------------------------------------------

def ours_one(path: Path) -> int:
    from apps.media.rendering import renditions_make, rendition_specs_from_setting

    return sum(len(r.data) for r in renditions_make(source=path, specs=rendition_specs_from_setting(SPEC)))


def _process_init():
    _django()


def cpu_now() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(run) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), cpu_now()
    run()
    return time.perf_counter() - wall, cpu_now() - cpu


def ours_threads(paths: list[Path], workers: int) -> None:
    if workers == 1:
        for path in paths:
            ours_one(path)
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(ours_one, paths))


def ours_processes(paths: list[Path], workers: int, pool: ProcessPoolExecutor) -> None:
    list(pool.map(ours_one, paths))


VIPS_SIZES = (("1600x>", "webp", "[Q=80,strip]"), ("800x>", "webp", "[Q=80,strip]"),
              ("320x>", "webp", "[Q=80,strip]"), ("800x>", "jpg", "[Q=85,optimize_coding,strip]"))


def vipsthumbnail(paths: list[Path], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for size, ext, options in VIPS_SIZES:
        name = str(out / f"%s_{size.rstrip('x>')}.{ext}{options}")
        subprocess.run(["vipsthumbnail", "-s", size, "-o", name, *map(str, paths)], check=True)


def pyvips_one(path: Path) -> int:
    import pyvips

    widest = pyvips.Image.thumbnail(str(path), 1600, height=10_000_000, size="down").copy_memory()
    total = len(widest.webpsave_buffer(Q=80, strip=True))
    mid = widest.thumbnail_image(800, height=10_000_000, size="down").copy_memory()
    total += len(mid.webpsave_buffer(Q=80, strip=True)) + len(mid.jpegsave_buffer(Q=85, optimize_coding=True, strip=True))
    small = mid.thumbnail_image(320, height=10_000_000, size="down")
    return total + len(small.webpsave_buffer(Q=80, strip=True))


def have_pyvips() -> bool:
    try:
        import pyvips  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


# --- does Pillow release the GIL? ------------------------------------------------------

def gil_stages(photo: Path, ops: int = 6) -> dict[str, dict[str, float]]:
    """Per stage of the work: while one thread runs it `ops` times, a second thread spins in
    Python and records its longest stall. A stage that holds the GIL stalls the spinner for
    the whole call (stall / call ~ 1); one that releases it does not (~0, whatever else the
    machine runs). Also the 1 -> 2 threads speed-up, which needs free cores to show."""
    import threading

    from PIL import Image

    def decoded() -> Image.Image:
        image = Image.open(photo)
        image.draft("RGB", (2000, 1500))
        image.load()
        return image

    base = decoded()
    mid = base.resize((1600, 1200), Image.Resampling.LANCZOS)
    shuffled = random.Random(1).sample(range(10**7), 1_000_000)
    stages = {
        "decode 4000x3000 (draft 1/2)": lambda: decoded().close(),
        "resize 2000->1600 Lanczos": lambda: base.resize((1600, 1200), Image.Resampling.LANCZOS),
        "encode WebP 1600": lambda: mid.save(io.BytesIO(), "WEBP", quality=80, method=4),
        "encode JPEG 2000 to BytesIO": lambda: base.save(io.BytesIO(), "JPEG", quality=85, optimize=True),
        "encode JPEG 2000 to a file": lambda: jpeg_to_file(base),
        "control: list.sort holds it": lambda: sorted(shuffled),
    }
    def jpeg_to_file(image: Image.Image) -> None:
        with tempfile.TemporaryFile() as file:
            image.save(file, "JPEG", quality=85, optimize=True)

    found = {}
    for name, stage in stages.items():
        stop, stall = threading.Event(), [0.0]

        def spin():
            last = time.perf_counter()
            while not stop.is_set():
                now = time.perf_counter()
                stall[0] = max(stall[0], now - last)
                last = now

        calls = []
        spinner = threading.Thread(target=spin)
        spinner.start()
        for _ in range(ops):
            started = time.perf_counter()
            stage()
            calls.append(time.perf_counter() - started)
        stop.set()
        spinner.join()
        one_wall, _ = timed(lambda: [stage() for _ in range(ops)])
        with ThreadPoolExecutor(2) as pool:
            two_wall, two_cpu = timed(lambda: list(pool.map(lambda _: stage(), range(ops))))
        found[name] = {"call s": round(statistics.median(calls), 4), "longest stall s": round(stall[0], 4),
                       "stall/call": round(stall[0] / statistics.median(calls), 2),
                       "speed-up 2 threads": round(one_wall / two_wall, 2),
                       "cores used, 2 threads": round(two_cpu / two_wall, 2)}
    return found


# --- peak memory -------------------------------------------------------------------------

def child_rss(paths: list[Path]) -> None:
    """In a fresh process: render `paths` on 2 threads; print the peak RSS in MiB."""
    _django()
    from apps.media.rendering import RenditionError, renditions_make, rendition_specs_from_setting

    specs = rendition_specs_from_setting(SPEC)

    def error(path: Path) -> str:
        try:
            renditions_make(source=path, specs=specs)
        except RenditionError as exc:
            return str(exc)
        return ""

    with ThreadPoolExecutor(2, thread_name_prefix="renditions") as pool:
        errors = [message for message in pool.map(error, paths) if message]
    # VmHWM, not ru_maxrss: Linux carries the forking parent's peak over exec into ru_maxrss
    peak_kib = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("VmHWM:"))
    print(json.dumps({"rss_mib": peak_kib / 1024, "errors": errors}))


def peak_rss_ours(paths: list[Path]) -> float:
    done = subprocess.run([sys.executable, __file__, "--child-rss", *map(str, paths)], check=True,
                          capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise SystemExit(f"40 MP renditions failed: {result['errors']}")
    return result["rss_mib"]


def peak_rss_vips(paths: list[Path], out: Path) -> float:
    peak = 0.0
    for size, ext, options in VIPS_SIZES:
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "vipsthumbnail", "-s", size, "-o",
                               str(out / f"%s_{size.rstrip('x>')}.{ext}{options}"), *map(str, paths)],
                              check=True, capture_output=True, text=True)
        peak = max(peak, int(done.stderr.strip().splitlines()[-1]) / 1024)
    return peak


# --- the run -----------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=12, help="camera photos (4000x3000)")
    parser.add_argument("--small", type=int, default=40, help="small photos (800x600)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench-renditions"))
    parser.add_argument("--child-rss", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_rss is not None:
        return child_rss([Path(p) for p in args.child_rss])
    if not shutil.which("vipsthumbnail"):
        raise SystemExit("vipsthumbnail not found: apt-get install -y libvips-tools")
    _django()
    cores = os.cpu_count() or 1
    load = round(os.getloadavg()[0], 2)
    sets = photos(args.work_dir, big=args.photos, small=args.small)
    out = args.work_dir / "out"
    pyvips_ok = have_pyvips()
    rows: dict[str, dict[str, float]] = {}
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    import multiprocessing

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=_process_init) as procs:
        list(procs.map(ours_one, sets["small 800x600"][:2]))  # start the workers outside the timing
        for _ in range(args.repeat):
            for label in ("camera 4000x3000", "small 800x600"):
                paths = sets[label]
                runs = {
                    "ours, 1 thread": lambda: ours_threads(paths, 1),
                    "ours, 2 threads": lambda: ours_threads(paths, 2),
                    "ours, 2 processes": lambda: ours_processes(paths, 2, procs),
                    "vipsthumbnail": lambda: vipsthumbnail(paths, out),
                }
                if pyvips_ok:
                    runs["pyvips, 1 thread"] = lambda: [pyvips_one(p) for p in paths]
                for name, run in runs.items():
                    if name == "ours, 2 processes":
                        # the workers' CPU is not ours until they exit: count it from their rusage
                        wall, _ = timed(run)
                        cpu = float("nan")
                    else:
                        wall, cpu = timed(run)
                    samples.setdefault((label, name), []).append((wall, cpu))
    for (label, name), values in samples.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        count = len(sets[label])
        rows.setdefault(label, {})[f"{name} wall s/photo"] = round(wall / count, 4)
        if cpu == cpu:
            rows[label][f"{name} CPU s/photo"] = round(cpu / count, 4)
            rows[label][f"{name} cores busy"] = round(cpu / (wall * cores), 2)
    gil = gil_stages(sets["camera 4000x3000"][0])
    huge = sets["40 MP"]
    # glibc's per-thread arenas make the peak vary between runs: the highest of 3 fresh processes
    rss = {"ours, 2 threads": round(max(peak_rss_ours(huge) for _ in range(3)), 1),
           "ours, 40 MP JPEG alone": round(max(peak_rss_ours(huge[:1]) for _ in range(3)), 1),
           "python + Django, no image": round(peak_rss_ours([]), 1),
           "vipsthumbnail": round(peak_rss_vips(huge, out), 1)}

    print(f"renditions {SPEC}; {cores} cores; medians of {args.repeat} rounds")
    print(f"{'photos':<18} {'contender':<20} {'CPU s/photo':>12} {'wall s/photo':>13} {'cores busy':>11}")
    for label, values in rows.items():
        names = sorted({key.rsplit(' ', 2)[0] for key in values}, key=lambda n: list(runs).index(n))
        for name in names:
            cpu = values.get(f"{name} CPU s/photo")
            busy = values.get(f"{name} cores busy")
            print(f"{label:<18} {name:<20} {'' if cpu is None else f'{cpu:.4f}':>12} "
                  f"{values[f'{name} wall s/photo']:>13.4f} {'' if busy is None else f'{busy:.2f}':>11}")
        ratio = values["ours, 1 thread CPU s/photo"] / values["vipsthumbnail CPU s/photo"]
        values["ours/vipsthumbnail CPU"] = round(ratio, 2)
        print(f"{label:<18} ours/vipsthumbnail CPU = {ratio:.2f}; threads speed-up 1->2 = "
              f"{values['ours, 1 thread wall s/photo'] / values['ours, 2 threads wall s/photo']:.2f}")
    print(f"\nGIL: a Python thread's longest stall while another runs the stage (load average {load:.2f})")
    print(f"{'stage':<32} {'call s':>7} {'stall s':>8} {'stall/call':>10} {'speed-up 2 thr':>15} {'cores used':>11}")
    for name, v in gil.items():
        print(f"{name:<32} {v['call s']:>7.4f} {v['longest stall s']:>8.4f} {v['stall/call']:>10.2f} "
              f"{v['speed-up 2 threads']:>15.2f} {v['cores used, 2 threads']:>11.2f}")
    print(f"peak RSS (highest of 3), 40 MP JPEG + 40 MP RGBA PNG at once: ours on 2 threads "
          f"{rss['ours, 2 threads']} MiB (the JPEG alone {rss['ours, 40 MP JPEG alone']}, Python + Django "
          f"alone {rss['python + Django, no image']}); vipsthumbnail {rss['vipsthumbnail']} MiB")
    print(json.dumps({"spec": SPEC, "cores": cores, "rounds": args.repeat, "pyvips": pyvips_ok,
                      "load_average": load, "results": rows, "gil": gil,
                      "peak_rss_mib": rss}))


if __name__ == "__main__":
    main()
