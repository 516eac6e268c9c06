"""GET /healthz, for load balancers and monitoring: no login, no secrets, and quick.

200 with `{"status": "ok", ...}` when this web process and its database answer, 503 when
not; `?deep=1` adds the Prefect API and the media storage. The body names each check
("ok" or "unavailable") and the ones that failed; the reasons go to the log, never to the
caller. Each check ends within CHECK_SECONDS, even when a dependency hangs (accepts the
connection and says nothing): the database is asked through a connection of its own with
that deadline, Prefect and S3 through clients with that timeout and no retries.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from apps.imports.prefect_api.runs import prefect_api_answers
from apps.media.storage import media_storage

logger = logging.getLogger(__name__)

# Each check's time: the answer within a second, with room for opening its connection or client
# and for a busy host's scheduling (bench/RESULTS.md, session 15).
CHECK_SECONDS = 0.7


def database_answers(*, seconds: float, alias: str = "default") -> None:
    """`SELECT 1` on the database, within `seconds`. PostgreSQL through an async connection of
    its own under a deadline (libpq's own connect timeout is 2 s at least, and a server that
    hangs after accepting would hold a blocking one for good); SQLite is a local file."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    params = connection.get_connection_params()
    for sync_only in ("context", "cursor_factory", "prepare_threshold"):
        params.pop(sync_only, None)
    asyncio.run(asyncio.wait_for(_postgresql_select_one(params), seconds))


async def _postgresql_select_one(params: dict) -> None:
    async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as conn:
        await conn.execute("SELECT 1")


def _media(*, seconds: float) -> None:
    media_storage().answers(seconds=seconds)


CHECKS: dict[str, Callable[..., None]] = {"database": database_answers}
DEEP_CHECKS: dict[str, Callable[..., None]] = {"prefect": prefect_api_answers, "media": _media}


@never_cache
@require_safe
def healthz_view(request):
    checks = {**CHECKS, **(DEEP_CHECKS if request.GET.get("deep") == "1" else {})}
    results = {name: _run(name, check) for name, check in checks.items()}
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "unavailable" if failing else "ok", "checks": results, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)


def _run(name: str, check: Callable[..., None]) -> str:
    try:
        check(seconds=CHECK_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure means "does not answer"; the log says which
        reason = f"no answer within {CHECK_SECONDS} s" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        logger.error("healthz: %s does not answer: %s", name, reason)
        return "unavailable"
    return "ok"
