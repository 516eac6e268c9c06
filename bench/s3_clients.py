"""S3 clients side by side: N PUTs of ~60 KB photos to a local SeaweedFS bucket, W at once.

    .venv/bin/python bench/s3_clients.py --files 3000 --workers 16 --repeat 3

  boto3    one shared client (the one boto3 builds from django-storages' settings), W threads
  obstore  one S3Store (what apps/media/storage/s3.py uses), W threads on its sync API
  rclone   `rclone copy --transfers W` of the same files
Each client runs in a process of its own (CPU = user + system of that process and its
children); the order rotates every round. Prints medians as a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
CLIENTS = ("boto3", "obstore", "rclone")


def put_all(client: str, files: list[Path], *, environ: dict, bucket: str, workers: int) -> None:
    """PUT every file as `<bucket>/<client>/<name>`, reading each in the worker thread."""
    if client == "boto3":
        import boto3
        from botocore.config import Config

        s3 = boto3.client(
            "s3", endpoint_url=environ["AWS_S3_ENDPOINT_URL"], region_name="us-east-1",
            aws_access_key_id=environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                          response_checksum_validation="when_required", max_pool_connections=workers),
        )

        def put(path: Path) -> None:
            s3.put_object(Bucket=bucket, Key=f"boto3/{path.name}", Body=path.read_bytes(), ContentType="image/jpeg")
    else:
        import obstore
        from obstore.store import S3Store

        store = S3Store(
            bucket, endpoint=environ["AWS_S3_ENDPOINT_URL"], region="us-east-1",
            access_key_id=environ["AWS_ACCESS_KEY_ID"], secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
            virtual_hosted_style_request=False, client_options={"allow_http": True},
        )

        def put(path: Path) -> None:
            obstore.put(store, f"obstore/{path.name}", path.read_bytes(), use_multipart=False,
                        attributes={"Content-Type": "image/jpeg"})

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(put, files))


def timed(cmd: list[str], env: dict) -> dict:
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO_DIR)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"bench: {' '.join(cmd)} failed")
    return {"seconds": time.monotonic() - started, "cpu_seconds": usage.ru_utime + usage.ru_stime}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=REPO_DIR / "var" / "bench-s3-clients")
    parser.add_argument("--client", choices=CLIENTS[:2], help=argparse.SUPPRESS)  # one run, in its own process
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    args = parser.parse_args()
    files_dir = args.work_dir / "files"
    if args.client:
        put_all(args.client, sorted(files_dir.iterdir()), environ=os.environ, bucket=args.bucket, workers=args.workers)
        return

    sys.path.insert(0, str(REPO_DIR))
    sys.path.insert(0, str(REPO_DIR / "bench"))
    from run import base_jpeg, rclone_environ, unique_jpeg

    from devtools.seaweed import seaweed_start

    if not files_dir.is_dir() or len(os.listdir(files_dir)) != args.files:
        shutil.rmtree(files_dir, ignore_errors=True)
        files_dir.mkdir(parents=True)
        base = base_jpeg(60_000)
        for n in range(args.files):
            (files_dir / f"{n:05d}.jpg").write_bytes(unique_jpeg(base, str(n)))
    server = seaweed_start(data_dir=args.work_dir / "seaweedfs")
    env = {**os.environ, **server.environ()}
    rclone_env = rclone_environ(server, env)
    import boto3

    admin = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                         aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key)
    runs: dict[str, list[dict]] = {client: [] for client in CLIENTS}
    try:
        for round_no in range(args.repeat):
            bucket = f"clients-{round_no}"
            admin.create_bucket(Bucket=bucket)
            order = CLIENTS[round_no % 3:] + CLIENTS[:round_no % 3]
            for client in order:
                if client == "rclone":
                    cmd = [str(Path(sys.executable).with_name("rclone")), "copy", str(files_dir), f"bench:{bucket}/rclone",
                           "--transfers", str(args.workers), "--checkers", str(args.workers), "--s3-no-check-bucket"]
                    runs[client].append(timed(cmd, rclone_env))
                else:
                    runs[client].append(timed([sys.executable, __file__, "--client", client, "--bucket", bucket,
                                               "--files", str(args.files), "--workers", str(args.workers),
                                               "--work-dir", str(args.work_dir)], env))
                stored = admin.list_objects_v2(Bucket=bucket, Prefix=f"{client}/", MaxKeys=1000)["KeyCount"]
                assert stored == min(args.files, 1000), f"{client} stored {stored} objects"
            print(f"bench: round {round_no + 1}/{args.repeat} done", file=sys.stderr)
    finally:
        server.stop()
    summary = {"files": args.files, "workers": args.workers, "repeat": args.repeat, "cpus": os.cpu_count(),
               "load": os.getloadavg()[0], "runs": runs}
    rclone_wall = statistics.median(r["seconds"] for r in runs["rclone"])
    rclone_cpu = statistics.median(r["cpu_seconds"] for r in runs["rclone"])
    print(f"{'client':<8} {'wall s':>7} {'x rclone':>8} {'CPU s':>6} {'ms CPU/PUT':>10} {'x rclone':>8}")
    for client, results in runs.items():
        wall = statistics.median(r["seconds"] for r in results)
        cpu = statistics.median(r["cpu_seconds"] for r in results)
        print(f"{client:<8} {wall:7.2f} {wall / rclone_wall:8.2f} {cpu:6.2f} {cpu / args.files * 1000:10.2f} "
              f"{cpu / rclone_cpu:8.2f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
