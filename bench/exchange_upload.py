"""The 1C HTTP exchange at shop scale: upload throughput, the server's memory, import polls.

    .venv/bin/python bench/exchange_upload.py --products 10000 --images 3

Zips (once, cached) the exchange of bench/run.py (N products x K unique ~60 KB JPEGs plus
goods.xml: 10,000 x 3 is 1.8 GB), starts Django's server (`runserver`, a fresh SQLite
database in the work dir, a user with the exchange permission), and speaks the protocol
as 1C does over loopback: checkauth, init, the archive in `file_limit` pieces (streamed
from disk), then `import` of goods.xml polled until it stops answering `progress`.

Measures: upload MB/s (wall time of all pieces), the server's RSS growth during the upload
(VmRSS sampled every 50 ms, over its value after checkauth), the slowest `import` answer
and the time to unpack and lay out the archive. Without --prefect-api-url the server has no
Prefect, so the import ends `failure` (PREFECT_API_URL is not set) right after the files are
laid out: the polls measured are those of the heavy part (unpacking and moving). Targets
(issue 12): >= 200 MB/s, RSS growth <= 50 MB, every poll <= 2 s. Prints a JSON line last.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlencode

from devtools.ports import free_port
from run import REPO_DIR, generate_exchange  # bench/run.py: the same generated exchange

MANAGE = [sys.executable, str(REPO_DIR / "backend" / "manage.py")]
USER, PASSWORD = "bench-1c", "bench-password"


def zipped_exchange(work: Path, products: int, images: int, *, seed: int = 1) -> Path:
    """The exchange as one deflated archive, as 1C sends it (made once); another `seed`,
    other products and photos."""
    archive = work / "exchange.zip"
    if archive.is_file():
        return archive
    exchange = work / "exchange"
    generate_exchange(exchange, products=products, images=images, with_pictures=True, seed=seed)
    partial = archive.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for path in sorted(exchange.rglob("*")):
            if path.is_file() and path.name != "ready.json":
                out.write(path, str(path.relative_to(exchange)))
    partial.replace(archive)
    return archive


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """The largest RSS of a process while running."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self.stop.wait(0.05)


class Client:
    def __init__(self, port: int):
        self.port, self.cookie = port, ""

    def call(self, mode: str, *, body=None, length: int | None = None, auth=False, **params) -> list[str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300, blocksize=1024 * 1024)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if body is not None:
            headers["Content-Length"] = str(length)
        connection.request("POST" if body is not None else "GET",
                           "/1c/exchange?" + urlencode({"type": "catalog", "mode": mode, **params}), body=body, headers=headers)
        text = connection.getresponse().read().decode("utf-8").lstrip("\ufeff")
        connection.close()
        return text.split("\n")


class Piece:
    """A file-like view of `length` bytes of an open file from `offset` (http.client
    sends it in blocks: the client never holds a piece in memory either)."""

    def __init__(self, fh, offset: int, length: int):
        self.fh, self.left = fh, length
        fh.seek(offset)

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.fh.read(size)
        self.left -= len(data)
        return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--file-limit", type=int, default=100 * 1024 * 1024)
    parser.add_argument("--work-dir", type=Path, default=REPO_DIR / "var" / "bench")
    parser.add_argument("--prefect-api-url", help="a Prefect server with the deployments and a worker: the import runs")
    args = parser.parse_args()

    work = args.work_dir.resolve() / f"{args.products}x{args.images}"
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    archive = zipped_exchange(work, args.products, args.images)
    size = archive.stat().st_size
    print(f"bench: {archive} ({size / 1e6:.0f} MB) ready in {time.monotonic() - started:.0f} s", file=sys.stderr)

    run = work / "exchange-http"
    subprocess.run(["rm", "-rf", str(run)], check=True)
    run.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{run / 'db.sqlite3'}",
        "ONEC_DATA_DIR": str(run / "import_1c"),
        "ONEC_EXCHANGE_STAGING_DIR": str(run / "staging"),
        "ONEC_EXCHANGE_FILE_LIMIT": str(args.file_limit),
        "MEDIA_ROOT": str(run / "media"),
        # As served (DEBUG off), but over plain HTTP on loopback: no redirect to HTTPS.
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",  # no collectstatic
    }
    env.pop("PREFECT_API_URL", None)
    if args.prefect_api_url:
        env["PREFECT_API_URL"] = args.prefect_api_url
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*MANAGE, "shell", "-c", (
        "from django.contrib.auth.models import User, Permission; "
        f"u = User.objects.create_user({USER!r}, password={PASSWORD!r}); "
        "u.user_permissions.add(Permission.objects.get(codename='exchange_1c'))"
    )], env=env, check=True)
    port = free_port()
    log = open(run / "django.log", "w")
    server = subprocess.Popen([*MANAGE, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {run / 'django.log'}")
                time.sleep(0.3)
        client = Client(port)
        answer = client.call("checkauth", auth=True)
        assert answer[0] == "success", answer
        client.cookie = f"{answer[1]}={answer[2]}"
        limits = dict(line.split("=", 1) for line in client.call("init"))
        file_limit = int(limits["file_limit"])

        baseline = rss_mib(server.pid)
        sampler = Sampler(server.pid)
        sampler.start()
        upload_started = time.monotonic()
        with open(archive, "rb", buffering=0) as fh:
            for offset in range(0, size, file_limit):
                length = min(file_limit, size - offset)
                answer = client.call("file", filename="exchange.zip", body=Piece(fh, offset, length), length=length)
                assert answer == ["success"], answer
        upload_seconds = time.monotonic() - upload_started
        sampler.stop.set()
        sampler.join()

        polls, slowest, prepare_started, poll_log = 0, 0.0, time.monotonic(), []
        while True:
            poll_started = time.monotonic()
            answer = client.call("import", filename="goods/goods.xml")
            slowest = max(slowest, time.monotonic() - poll_started)
            poll_log.append((round(time.monotonic() - poll_started, 3), polls, answer[-1][:60]))
            polls += 1
            if answer[0] != "progress":
                break
            time.sleep(0.2)
        import_seconds = time.monotonic() - prepare_started
    finally:
        server.terminate()
        server.wait()
    result = {
        "archive_mb": round(size / 1e6),
        "pieces": -(-size // file_limit),
        "upload_seconds": round(upload_seconds, 2),
        "upload_mb_per_s": round(size / 1e6 / upload_seconds),
        "server_rss_mib_after_checkauth": round(baseline, 1),
        "server_rss_growth_mib": round(sampler.peak - baseline, 1),
        "import_polls": polls,
        "slowest_import_answer_s": round(slowest, 3),
        "import_seconds": round(import_seconds, 1),
        "import_answer": answer[:3],
        "slowest_polls": sorted(poll_log, reverse=True)[:3],
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
