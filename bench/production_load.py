"""The production web server under load, through nginx with TLS (issue #21 item 6).

    .venv/bin/python bench/production_load.py [--exchanges 4] [--products 1000] [--images 3] [--postgres-port 5432]

It runs the deployment of deploy/ on this machine (devtools/deployment.py): gunicorn started
with the ExecStart of deploy/systemd/onec-web.service behind Debian's nginx with the site
deploy/nginx/onec-images.conf and a self-signed certificate, DEBUG off; a Prefect server on
PostgreSQL with the pools and deployments of prefect.yaml and the imports worker
(devtools/stack.py) at the niceness its unit gives it; fresh PostgreSQL databases for Django
and Prefect. The imports run as shipped (chunk size, threads, renditions: the settings'
defaults), and 1C's file limit is the default 100 MiB.

Each of `--exchanges` 1C users has an exchange of its own (`--products` products with
`--images` unique ~60 KB JPEGs each, made once under var/bench/production/, zipped), sent
by the 1C client of tests/exchange/client_1c.py over HTTPS. Steps:

1. at rest: the first archive uploaded (checkauth, init, the pieces, complete; not imported)
   through nginx with TLS, then straight to gunicorn over plain HTTP (with the header nginx
   adds, X-Forwarded-Proto: https), three times each, alternating (the medians compared);
2. under load: every exchange at once (upload, `import` of goods.xml polled every second
   until it ends, complete) while an admin, logged in through nginx, loads the product list
   and the session monitor (the session list and its JSON poll) in turn; every web worker's
   RSS sampled every 0.5 s;
3. at rest: the product list again, with the same data and nothing running; then the data of
   every exchange is checked (its products active, each with its photos, their renditions).

Targets: every exchange `success` with its data right; the slowest poll answer <= 2 s; the
product list's p95 under load <= 3x at rest; upload through TLS >= 0.5x plain HTTP; each web
worker's RSS <= 150 MB. Prints a table, and one JSON line last.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from exchange_upload import rss_mib, zipped_exchange
from run import REPO_DIR

sys.path.insert(0, str(REPO_DIR))  # the 1C client lives with the tests
from devtools.deployment import ProductionSite, unit_option  # noqa: E402
from devtools.postgres import fresh_database  # noqa: E402
from devtools.stack import LocalStack  # noqa: E402
from tests.exchange.client_1c import OneC, http_transport  # noqa: E402

PASSWORD = "bench-password"
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench-admin-password"
PRODUCT_LIST = "/admin/products/product/"
SESSION_LIST = "/admin/integrations/importsession/"
SESSION_POLL = "/admin/integrations/importsession/active/"
SECRET_KEY = "bench-only-secret-key-0123456789-0123456789-0123456789"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


class Admin:
    """A staff member in a browser: logged in through nginx, loading admin pages."""

    def __init__(self, site: ProductionSite):
        self.client = httpx.Client(base_url=site.https_url, verify=site.ssl_context(), timeout=60)
        self.client.get("/admin/login/")
        response = self.client.post("/admin/login/", data={
            "username": ADMIN, "password": ADMIN_PASSWORD, "next": "/admin/",
            "csrfmiddlewaretoken": self.client.cookies["csrftoken"],
        }, headers={"Referer": f"{site.https_url}/admin/login/"})
        assert response.status_code == 302, f"the admin's login failed: {response.status_code} {response.text[:300]}"

    def timed(self, path: str) -> float:
        started = time.monotonic()
        response = self.client.get(path)
        seconds = time.monotonic() - started
        assert response.status_code == 200, f"{path}: {response.status_code}"
        return seconds

    def product_list(self, times: int) -> list[float]:
        return [self.timed(PRODUCT_LIST) for _ in range(times)]


class Browsing(threading.Thread):
    """The admin while the exchanges run: the product list, the session list and its poll."""

    def __init__(self, admin: Admin):
        super().__init__(daemon=True)
        self.admin, self.stop, self.product_list, self.monitor = admin, threading.Event(), [], []

    def run(self):
        while not self.stop.is_set():
            self.product_list.append(self.admin.timed(PRODUCT_LIST))
            self.monitor.append(self.admin.timed(SESSION_LIST))
            self.monitor.append(self.admin.timed(SESSION_POLL))
            self.stop.wait(1.0)


class WorkerMemory(threading.Thread):
    """The largest RSS of every gunicorn worker process seen, by pid."""

    def __init__(self, site: ProductionSite):
        super().__init__(daemon=True)
        self.site, self.stop, self.peaks = site, threading.Event(), {}

    def run(self):
        while not self.stop.is_set():
            for pid in self.site.web_worker_pids():
                try:
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), rss_mib(pid))
                except OSError:  # recycled meanwhile
                    pass
            self.stop.wait(0.5)


def upload_seconds(onec: OneC, archive: bytes) -> float:
    """One exchange that only uploads: the pieces' wall time."""
    assert onec.checkauth()[0] == "success", onec.answers[-1]
    onec.init()
    started = time.monotonic()
    for answer in onec.send_file("import.zip", archive):
        assert answer == ["success"], answer
    seconds = time.monotonic() - started
    assert onec.complete() == ["success"]
    return seconds


def with_proxy_header(transport):
    """Plain HTTP straight to gunicorn, saying what nginx says: the client spoke HTTPS."""
    def send(method, query, body, headers):
        return transport(method, query, body, {**headers, "X-Forwarded-Proto": "https"})
    return send


def exchange(onec: OneC, archive: bytes, outcome: dict) -> None:
    """1C's whole exchange: the archive in pieces, goods.xml's import polled, complete."""
    started = time.monotonic()
    try:
        assert onec.checkauth()[0] == "success", onec.answers[-1]
        onec.init()
        for answer in onec.send_file("import.zip", archive):
            assert answer == ["success"], answer
        outcome["uploaded_s"] = time.monotonic() - started
        outcome["answer"] = onec.import_file("goods/goods.xml", timeout=3 * 3600)
        assert onec.complete() == ["success"]
    except Exception as exc:  # reported in the table, never hidden
        outcome["error"] = repr(exc)
    outcome["seconds"] = time.monotonic() - started
    outcome["slowest_poll_s"] = onec.slowest_import_answer


def check_data(guids: set[str], images: int) -> str:
    """'right', or what is wrong with one exchange's products, photos and renditions."""
    from apps.media.models import StoredImage
    from apps.products.models import Product

    products = list(Product.objects.filter(onec_id__in=guids))
    wrong = [p.onec_id for p in products if not p.is_active or not p.main_image or len(p.gallery_images) != images - 1]
    if len(products) != len(guids) or wrong:
        return f"{len(products)} of {len(guids)} products; {len(wrong)} inactive or without their {images} photos"
    names = {p.main_image.name for p in products} | {name for p in products for name in p.gallery_images}
    stored = StoredImage.objects.filter(name__in=names)
    without = [image.name for image in stored if not image.renditions]
    if stored.count() != len(guids) * images or without:
        return f"{stored.count()} stored images of {len(guids) * images}; {len(without)} without renditions"
    return "right"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchanges", type=int, default=4)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--at-rest-requests", type=int, default=40)
    parser.add_argument("--postgres-port", type=int, default=5432,
                        help="a PostgreSQL of the bench's own (user postgres, trust): a test suite beside it that "
                             "restarts the shared one would fail the run's requests")
    parser.add_argument("--work-dir", type=Path, default=REPO_DIR / "var" / "bench" / "production")
    args = parser.parse_args()

    work = args.work_dir.resolve()
    archives = [zipped_exchange(work / f"exchange-{n}-{args.products}x{args.images}", args.products, args.images,
                                seed=100 + n) for n in range(args.exchanges)]
    guids = [{path.name.split("_")[0] for path in (archive.parent / "exchange").rglob("*.jpg")} for archive in archives]
    data = [archive.read_bytes() for archive in archives]
    print(f"bench: {args.exchanges} archives of {sum(map(len, data)) / 1e6:.0f} MB in all", file=sys.stderr)

    run = work / "run"
    subprocess.run(["rm", "-rf", str(run)], check=True)
    postgres = f"postgresql://postgres@127.0.0.1:{args.postgres_port}"
    fresh_database(postgres, "deploy_bench")
    fresh_database(postgres, "deploy_bench_prefect")
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "ONEC_", "PREFECT_"))},
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{args.postgres_port}/deploy_bench",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL":
            f"postgresql+asyncpg://postgres@127.0.0.1:{args.postgres_port}/deploy_bench_prefect",
        "PREFECT_HOME": str(run / "prefect"),
        "APP_VAR_DIR": str(run),
        "MEDIA_ROOT": str(run / "media"),
        "ONEC_DATA_DIR": str(run / "import_1c"),
        "ONEC_EXCHANGE_STAGING_DIR": str(run / "exchange_1c"),
    }
    os.environ.update(env)  # this process reads the results through Django's ORM
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    stack = LocalStack(run, env)
    subprocess.run([sys.executable, "backend/manage.py", "migrate", "-v", "0"], cwd=REPO_DIR, env=stack.env, check=True)
    import django

    django.setup()
    from django.contrib.auth.models import Permission, User

    User.objects.create_superuser(ADMIN, "admin@example.com", ADMIN_PASSWORD)
    exchange_permission = Permission.objects.get(codename="exchange_1c")
    for user in [f"onec-{n}" for n in range(args.exchanges)] + ["onec-upload"]:
        User.objects.create_user(user, password=PASSWORD).user_permissions.add(exchange_permission)

    site = ProductionSite(stack)
    try:
        stack.start_prefect()
        stack.start_imports_worker(nice=int(unit_option("onec-imports-worker.service", "Nice")))
        site.start()
        https = http_transport(site.https_url, ssl_context=site.ssl_context())
        plain = with_proxy_header(http_transport(site.web_url))

        # 1. The upload, through TLS and plain, at rest.
        # Three of each, alternating: one upload of either moves with the page cache and the host.
        uploads = {"tls": [], "plain": []}
        for _ in range(3):
            uploads["tls"].append(upload_seconds(OneC(https, "onec-upload", PASSWORD), data[0]))
            uploads["plain"].append(upload_seconds(OneC(plain, "onec-upload", PASSWORD), data[0]))
        tls_s, plain_s = statistics.median(uploads["tls"]), statistics.median(uploads["plain"])
        print(f"bench: upload {len(data[0]) / 1e6:.0f} MB (s): TLS {uploads['tls']}, plain {uploads['plain']}", file=sys.stderr)

        # 2. Every exchange at once, an admin browsing.
        admin = Admin(site)
        memory, browsing = WorkerMemory(site), Browsing(admin)
        memory.start()
        browsing.start()
        outcomes = [{} for _ in archives]
        threads = [threading.Thread(target=exchange, args=(OneC(https, f"onec-{n}", PASSWORD, poll_seconds=1.0),
                                                            data[n], outcomes[n])) for n in range(args.exchanges)]
        load_started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        load_s = time.monotonic() - load_started
        browsing.stop.set()
        browsing.join()
        memory.stop.set()
        memory.join()

        # 3. At rest, the same data; then the data of each exchange.
        at_rest = admin.product_list(args.at_rest_requests)
        verdicts = [check_data(guids[n], args.images) if "error" not in outcomes[n] else outcomes[n]["error"]
                    for n in range(args.exchanges)]
    finally:
        site.stop()
        stack.stop()

    answers = [(o.get("answer") or ["none"])[0] for o in outcomes]
    slowest_poll = max(o.get("slowest_poll_s", 0.0) for o in outcomes)
    list_load, list_rest = p95(browsing.product_list), p95(at_rest)
    upload_ratio = plain_s / tls_s  # TLS throughput over plain throughput
    rss = max(memory.peaks.values())
    rows = [
        ("every exchange success, data right", "all", f"{answers}; {verdicts}",
         all(a == "success" for a in answers) and all(v == "right" for v in verdicts)),
        ("slowest import poll answer", "<= 2 s", f"{slowest_poll:.2f} s", slowest_poll <= 2.0),
        ("product list p95 under load / at rest", "<= 3x",
         f"{list_load * 1000:.0f} ms / {list_rest * 1000:.0f} ms = {list_load / list_rest:.2f}x", list_load <= 3 * list_rest),
        ("upload through TLS / plain HTTP (MB/s)", ">= 0.5x",
         f"{len(data[0]) / 1e6 / tls_s:.0f} / {len(data[0]) / 1e6 / plain_s:.0f} = {upload_ratio:.2f}x", upload_ratio >= 0.5),
        ("web worker RSS, largest", "<= 150 MB",
         f"{rss:.0f} MiB (workers seen: {len(memory.peaks)})", rss * 1.048576 <= 150),
    ]
    print(f"\n| measure | target | measured | met |\n| --- | --- | --- | --- |", file=sys.stderr)
    for name, target, measured, met in rows:
        print(f"| {name} | {target} | {measured} | {'yes' if met else '**no**'} |", file=sys.stderr)
    print(json.dumps({
        "exchanges": args.exchanges, "products": args.products, "images": args.images,
        "archive_mb": [round(len(d) / 1e6) for d in data],
        "answers": [o.get("answer") for o in outcomes], "data": verdicts,
        "exchange_seconds": [round(o.get("seconds", 0), 1) for o in outcomes],
        "upload_under_load_seconds": [round(o.get("uploaded_s", 0), 1) for o in outcomes],
        "load_seconds": round(load_s, 1),
        "slowest_poll_s": round(slowest_poll, 3),
        "product_list_p95_ms": {"load": round(list_load * 1000), "rest": round(list_rest * 1000)},
        "product_list_requests": {"load": len(browsing.product_list), "rest": len(at_rest)},
        "monitor_p95_ms": round(p95(browsing.monitor) * 1000) if browsing.monitor else None,
        "upload_mb_per_s": {"tls": round(len(data[0]) / 1e6 / tls_s), "plain": round(len(data[0]) / 1e6 / plain_s)},
        "worker_rss_mib": {str(pid): round(peak) for pid, peak in sorted(memory.peaks.items())},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
