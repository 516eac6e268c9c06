"""What the admin-page benchmarks share: Django set up as it is served (no query log), a
throw-away test database from DATABASE_URL (test_<name> on PostgreSQL, in memory on
SQLite), and the timing of a page through Django's test client (URL routing, middleware,
admin, templates; no network)."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DJANGO_DEBUG", "0")  # as served: no query log
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")  # the test client speaks plain HTTP
os.environ.setdefault("DJANGO_STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"

import django

django.setup()

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh test database for the benchmark's rows, dropped afterwards; its name."""
    # No setup_test_environment(): its template instrumentation would be timed too.
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


@dataclass(frozen=True)
class PageTiming:
    wall_ms: list[float]
    cpu_ms: list[float]  # this process' CPU time: steady when other work shares the cores
    queries: int
    size: int


def time_page(client: Client, url: str, *, runs: int) -> PageTiming:
    """Wall-clock and CPU milliseconds of `runs` requests after three warm-ups (template
    loading, caches), then one more counting its queries."""
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return PageTiming(wall, cpu, len(queries), len(response.content))
