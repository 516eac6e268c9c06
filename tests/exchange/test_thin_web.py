"""The web process answers; workers work: no request of a whole exchange starts a thread,
and no code of the exchange app starts threads, pools or timers."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from apps.onec_exchange.models import ExchangeImport

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("deployments", "in_english")]  # English answers

APP_DIR = Path(__file__).resolve().parents[2] / "backend" / "apps" / "onec_exchange"


def test_no_request_of_an_exchange_starts_a_thread(onec, exchange_dirs, monkeypatch):
    requests, started = threading.local(), []
    real_start, real_transport = threading.Thread.start, onec.transport

    def start(thread):
        if getattr(requests, "inside", False):
            started.append(thread.name)
        return real_start(thread)

    def transport(*args):
        requests.inside = True
        try:
            return real_transport(*args)
        finally:
            requests.inside = False

    monkeypatch.setattr(threading.Thread, "start", start)
    onec.transport = transport

    results = onec.exchange_one_zip({"units/units.xml": b"<units/>", "classifier/classifier.xml": b"<c/>"}, full=True)

    assert {name: lines[0] for name, lines in results.items()} == dict.fromkeys(
        ["units/units.xml", "classifier/classifier.xml", "mode=deactivate"], "success"
    )
    assert started == [], f"requests started threads: {started}"
    assert ExchangeImport.objects.filter(flow_run_id__isnull=False).count() == 3


def test_the_exchange_app_starts_no_threads_pools_or_timers():
    pattern = re.compile(r"\b(threading|ThreadPoolExecutor|ProcessPoolExecutor|multiprocessing|Timer|_thread|asyncio)\b")
    found = [
        f"{path.relative_to(APP_DIR)}:{number}: {line.strip()}"
        for path in APP_DIR.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
