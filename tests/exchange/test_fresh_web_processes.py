"""Nothing the exchange needs lives in a web process: a whole 1C exchange succeeds when
gunicorn serves every request with a fresh worker process (`--max-requests 1`), and when
its worker processes are killed (SIGKILL) between requests. The web server and the
Prefect worker that prepares the imports are separate processes that share only the
database and the filesystem: the staging area and the exchange directory, as
docs/onec-exchange-hosts.md says they must."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from apps.imports.models import ImportSession
from apps.onec_exchange.models import ExchangeImport
from apps.products.models import Product
from commerceml import writer as cml
from devtools.ports import free_port
from tests.exchange.client_1c import OneC, http_transport, zip_bytes
from tests.exchange.conftest import PASSWORD, grant_exchange

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GUID = "0a1b2c3d-0000-0000-0000-0000000000f1"
GOODS = cml.CommerceMLWriter().goods([cml.Goods(GUID, "Мяч")])
POLL_LIMIT_SECONDS = 2.0


class Gunicorn:
    """gunicorn on the stack's database, Prefect server and directories, with `--max-requests 1`:
    each worker process serves one request and exits; the access log names its pid. The
    application is loaded once in the master (`--preload`): a worker forked from it answers
    at once, where one that imported Django and Prefect itself would take seconds."""

    def __init__(self, stack, name: str):
        self.stack = stack
        self.url = f"http://127.0.0.1:{free_port()}"
        self.access_log = stack.root / f"{name}-access.log"
        self.pid_file = stack.root / f"{name}.pid"
        self.first_process = len(stack.processes)
        stack.start(
            name, sys.executable, "-m", "gunicorn", "--chdir", "backend", "--bind", self.url.removeprefix("http://"),
            "--workers", "4", "--max-requests", "1", "--preload", "--pid", str(self.pid_file),
            "--access-logfile", str(self.access_log), "--access-logformat", "%(p)s %(L)s %(U)s?%(q)s",
            "config.wsgi:application",
        )
        stack.wait_until_up(f"{self.url}/admin/login/")

    def worker_pids(self) -> set[int]:
        master = int(self.pid_file.read_text())
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return {int(pid) for pid in children}

    def served(self) -> list[tuple[int, float, str]]:
        """The pid of the process that served each request, the seconds it took, and the request, in order."""
        rows = [line.split(" ", 2) for line in self.access_log.read_text().splitlines() if line.strip()]
        return [(int(pid.strip("<>")), float(seconds), request) for pid, seconds, request in rows]

    def stop(self) -> None:
        """Stop gunicorn and leave the stack's other processes running."""
        self.stack.stop(since=self.first_process)


@pytest.fixture
def gunicorn(exchange_stack, request):
    server = Gunicorn(exchange_stack, f"gunicorn-{request.node.name[-20:]}")
    yield server
    server.stop()


def _exchange(onec: OneC) -> list[str]:
    assert onec.checkauth()[0] == "success"
    onec.init()
    for answer in onec.send_file("exchange.zip", zip_bytes({"goods/goods.xml": GOODS})):
        assert answer == ["success"], answer
    answer = onec.import_file("goods/goods.xml", timeout=180)
    assert onec.complete() == ["success"]
    return answer


def _assert_imported(answer: list[str], stack) -> None:
    assert answer[0] == "success", f"{answer}\n{stack.logs()}"
    assert answer[1].startswith("«Каталог товаров» #") and "Товары: создано — 1" in answer[1]
    assert Product.objects.filter(onec_id=GUID, is_active=True).exists()
    assert ImportSession.objects.get(import_type="catalog").status == "completed"
    record = ExchangeImport.objects.get(path="goods/goods.xml")
    assert record.status == "completed" and record.flow_run_id is not None


@pytest.mark.alone  # its polls' time is 1C's limit: measured with no other test running beside it
def test_an_exchange_succeeds_when_every_request_gets_a_fresh_process(exchange_stack, gunicorn):
    grant_exchange(User.objects.create_user("onec", password=PASSWORD))
    onec = OneC(http_transport(gunicorn.url), "onec", PASSWORD, poll_seconds=0.3)

    answer = _exchange(onec)

    _assert_imported(answer, exchange_stack)
    served = gunicorn.served()
    pids = [pid for pid, _, _ in served]
    assert len(pids) >= len(onec.answers)  # every request of 1C (and the start-up check)
    assert len(set(pids)) == len(pids), "a web process served two requests"
    # The answer's own time (a request waits longer while gunicorn forks its next process:
    # seconds on a busy machine; more workers keep one ready).
    slowest = max((seconds, request) for _, seconds, request in served if "mode=import" in request)
    assert slowest[0] <= POLL_LIMIT_SECONDS, f"{slowest[1]} took {slowest[0]:.1f} s (as 1C waited: {onec.slowest_import_answer:.1f} s)"


def test_an_exchange_succeeds_when_web_processes_are_killed_between_requests(exchange_stack, gunicorn):
    grant_exchange(User.objects.create_user("onec", password=PASSWORD))
    send = http_transport(gunicorn.url)
    killed = []

    def send_then_kill(method, query, body, headers):
        answer = send(method, query, body, headers)
        for pid in gunicorn.worker_pids():  # whatever they hold dies with them
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return answer

    onec = OneC(send_then_kill, "onec", PASSWORD, poll_seconds=0.3)

    answer = _exchange(onec)

    _assert_imported(answer, exchange_stack)
    assert len(killed) >= len(onec.answers)
