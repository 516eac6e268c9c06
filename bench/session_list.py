"""Benchmark: render time of the ImportSession admin list with 1,000 sessions (target < 150 ms).

A benchmark, never a timed test. It creates a throw-away test database from DATABASE_URL
(test_<name> on PostgreSQL, in memory on SQLite), fills it, and times the pages through
Django's test client (URL routing, middleware, admin, templates; no network):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onec_bench .venv/bin/python bench/session_list.py
"""
from __future__ import annotations

import os
import statistics
import sys
from datetime import timedelta

os.environ.setdefault("PREFECT_API_URL", "http://127.0.0.1:4200/api")  # so every row renders its Prefect link

from admin_pages import throwaway_database, time_page
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

SESSIONS = 1_000
TARGET_MS = 150
RUNS = 30


def seed(user) -> None:
    """1,000 sessions as months of imports leave them: one running, the rest ended.

    Historical rows are bulk-inserted as they would be found in the table; no status
    changes happen here (those go through services.sessions).
    """
    from apps.imports.models import ImportSession

    Status = ImportSession.Status
    now = timezone.now()
    ended = [Status.COMPLETED] * 8 + [Status.FAILED, Status.CANCELLED]
    rows = []
    for n in range(SESSIONS):
        started = now - timedelta(hours=6 * (SESSIONS - n))
        status = Status.IN_PROGRESS if n == SESSIONS - 1 else ended[n % len(ended)]
        total = 5_000 + n
        processed = total if status == Status.COMPLETED else total // 3
        rows.append(ImportSession(
            import_type=ImportSession.ImportType.IMAGES if n % 3 else ImportSession.ImportType.CATALOG,
            status=status,
            running_slot=True if status == Status.IN_PROGRESS else None,
            started_at=started,
            finished_at=None if status == Status.IN_PROGRESS else started + timedelta(minutes=4, seconds=n % 60),
            report_details={
                "total_products": total, "processed": processed, "copied": processed // 2, "replaced": 3,
                "skipped": processed // 2, "errors": n % 4, "products_without_images": 17, "chunks_total": 51,
            },
            error_message="the flow run crashed: worker lost" if status == Status.FAILED else "",
            flow_run_id=f"{n:08x}-0000-4000-8000-000000000000",
            started_by=ImportSession.StartedBy.ADMIN if n % 2 else ImportSession.StartedBy.SCHEDULE,
            started_by_user=user if n % 2 else None,
            parameters={"data_dir": "/srv/1c/exchange", "chunk_size": 100},
        ))
    ImportSession.objects.bulk_create(rows, batch_size=500)


def main() -> int:
    with throwaway_database() as test_db:
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
        seed(user)
        client = Client()
        client.force_login(user)
        changelist = reverse("admin:integrations_importsession_changelist")
        pages = {
            "list, first page": changelist,
            "list, last page": f"{changelist}?p=19",
            "list, filtered by status": f"{changelist}?status__exact=completed",
            "live JSON (active sessions)": reverse("admin:integrations_importsession_active"),
        }
        print(
            f"{SESSIONS} sessions, {test_db}, {RUNS} runs per page after warm-up, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        worst_list_median = 0.0
        for name, url in pages.items():
            timing = time_page(client, url, runs=RUNS)
            wall, cpu, query_count, size = timing.wall_ms, timing.cpu_ms, timing.queries, timing.size
            median = statistics.median(wall)
            if name.startswith("list"):
                worst_list_median = max(worst_list_median, median)
            print(
                f"  {name:28} wall median {median:6.1f} ms, p90 {statistics.quantiles(wall, n=10)[-1]:6.1f}, "
                f"min {min(wall):6.1f}; CPU median {statistics.median(cpu):6.1f} ms; "
                f"{query_count} queries, {size // 1024} KiB"
            )
        verdict = "OK" if worst_list_median < TARGET_MS else "TOO SLOW"
        print(f"slowest list page median {worst_list_median:.1f} ms, target < {TARGET_MS} ms: {verdict}")
        return 0 if worst_list_median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
