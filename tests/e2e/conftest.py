"""The whole stack as subprocesses, as `./dev stack` runs it: `prefect server start`, a work
pool with `prefect deploy --all`, a process worker and gunicorn, on free ports with a
temporary PREFECT_HOME and MEDIA_ROOT, sharing the test database. One stack for the session
(`running_stack`, tests/conftest.py) serves every test of the session that needs one: these
end-to-end tests and the 1C client's (tests/exchange), which parallel workers run on two
stacks, one per package (`stack_group`); each test finds its exchange directory, staging
area and media empty, and `stack` puts the real sample in the exchange directory."""
from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection, connections

from apps.imports.models import ImportSession
from devtools.stack import REPO_DIR, LocalStack
from tests.conftest import SAMPLE_DIR, drop_prefect_database, prefect_database_url

RUN_SECONDS = 180
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class Stack(LocalStack):
    """The session's stack (devtools.stack): a Prefect server with the deployments, the
    imports worker and Django's server, with a temporary PREFECT_HOME, exchange directory,
    staging area and media root, on the test database."""

    def __init__(self, root: Path, database_url: str, prefect_database: str):
        self.data_dir = root / "import_1c"
        self.media_root = root / "media"
        self.staging_dir = root / "staging"
        super().__init__(root, {
            # The web server serves static files as in production: collected, hashed names,
            # compressed (not under the plain names the test process uses, tests/environment.py).
            **{name: value for name, value in os.environ.items() if name != "DJANGO_STATICFILES_STORAGE"},
            "STATIC_ROOT": str(root / "static"),
            "PREFECT_HOME": str(root / "prefect"),
            # Production's settings with cheap password hashes (tests/stack_settings.py), importable
            # from every part (gunicorn may run from backend/).
            "DJANGO_SETTINGS_MODULE": "tests.stack_settings",
            "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO_DIR), os.environ.get("PYTHONPATH")))),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            # The server's own database in PostgreSQL, as docs/several-machines.md advises for
            # shard hosts: on SQLite, heartbeats and polls written at once on a busy machine were
            # refused ("database is locked") and a live shard was taken for dead.
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_database,
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(self.media_root),
            "ONEC_DATA_DIR": str(self.data_dir),
            # 1C's HTTP exchange (tests/exchange): staged files, sent in pieces of 256 KiB.
            "ONEC_EXCHANGE_STAGING_DIR": str(self.staging_dir),
            "ONEC_EXCHANGE_FILE_LIMIT": str(256 * 1024),
            # Small chunks one at a time: an import of a few hundred products lasts long
            # enough for a browser to watch its progress bar move.
            "ONEC_IMAGE_CHUNK_SIZE": "3",
            "ONEC_IMPORT_MAX_WORKERS": "1",
            # A shard whose process stops is noticed after one missed heartbeat (every 30 s).
            "ONEC_SHARD_HEARTBEAT_TIMEOUT_SECONDS": "45",
        })

    def start_all(self) -> None:
        """Server, work pools, `prefect deploy --all` and the imports worker, in that order;
        Django (collectstatic, gunicorn) meanwhile, in a thread: it needs none of them to start."""
        with ThreadPoolExecutor(max_workers=1) as django:
            started = django.submit(self.start_django)
            self.start_prefect()
            self.start_imports_worker()
            started.result()

    def logs(self) -> str:
        """The parts' logs, and the flow runs that have not ended with their states: a run that
        never began is Scheduled (no worker took it) or Pending (its process did not begin it)."""
        return f"{super().logs()}\n--- flow runs not ended\n{self.unfinished_runs()}"

    def unfinished_runs(self) -> str:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
        from prefect.client.schemas.objects import TERMINAL_STATES
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from apps.imports.prefect_api.runs import prefect_client

        not_ended = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(not_any_=list(TERMINAL_STATES))))
        try:
            with temporary_settings(updates={PREFECT_API_URL: self.api_url}), prefect_client(timeout=10) as client:
                runs = client.read_flow_runs(flow_run_filter=not_ended)
        except Exception as error:  # a failing test's message: what the server answered is enough
            return f"the stack's Prefect server did not answer: {error!r}"
        return "\n".join(f"{run.id} {run.name} ({run.parameters}): {run.state.name} since {run.state.timestamp}"
                         for run in runs) or "none"

    def reset(self) -> None:
        """An empty exchange directory, staging area and media root, as for a stack of its own
        (each test starts with an empty database: files an earlier test left would be
        counted, or hide its files)."""
        for directory in (self.data_dir, self.staging_dir, self.media_root):
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)


def start_session_stack(tmp_path_factory) -> Stack:
    """The session's stack (the `running_stack` fixture), on this session's test database."""
    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("the stack's processes share the test database: run with PostgreSQL (./dev test)")
    stack = Stack(tmp_path_factory.mktemp("stack"), f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
                  prefect_database_url(tmp_path_factory, "stack_prefect"))
    stack.reset()
    try:
        stack.start_all()
    except BaseException:
        stop_session_stack(stack)
        raise
    return stack


def stop_session_stack(stack: Stack) -> None:
    """Every part stopped, and the Prefect server's database dropped."""
    stack.stop()
    drop_prefect_database(stack.env["PREFECT_SERVER_DATABASE_CONNECTION_URL"])


class SessionStack:
    """The session's stack while its tests run: started when a test first needs it, stopped
    (and started anew, with new ports and a new Prefect database) around tests without it."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.stack: Stack | None = None
        self.failed_start: Exception | None = None

    def started(self) -> Stack:
        """The running stack; a stack that failed to start fails every later test at once,
        as a session fixture's error does, instead of each module waiting for it again."""
        if self.failed_start is not None:
            raise self.failed_start
        if self.stack is None:
            try:
                self.stack = start_session_stack(self.tmp_path_factory)
            except Exception as error:
                self.failed_start = error
                raise
        return self.stack

    def stop(self) -> None:
        if self.stack is not None:
            stack, self.stack = self.stack, None
            stop_session_stack(stack)


@pytest.fixture
def stack(running_stack):
    """The session's stack, with the real 1C sample in its exchange directory."""
    if not (SAMPLE_DIR / "goods" / "goods.xml").is_file():
        pytest.skip(f"the real 1C sample is not at {SAMPLE_DIR}")
    running_stack.reset()
    shutil.rmtree(running_stack.data_dir)
    shutil.copytree(SAMPLE_DIR, running_stack.data_dir)
    return running_stack


def wait_until_finished(session, stack: Stack):
    """The session once it is no longer pending or running (the stack's logs if it hangs)."""
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        session.refresh_from_db()
        if not session.is_active:
            return session
        time.sleep(0.5)
    pytest.fail(f"session #{session.pk} still {session.status} after {RUN_SECONDS} s:\n{stack.logs()}")


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium (Debian's, installed by ./dev test), driven by Playwright."""
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made here
    # between browser steps are ordinary blocking calls, which Django allows with this.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./dev test (it installs Debian's chromium) or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()
        # pytest-django does not close the connection of the ORM calls made while
        # Playwright ran; left open, it keeps the test database from being dropped.
        connections.close_all()


def log_in(page, base_url: str, user, password: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


def start_image_import(page, base_url: str) -> int:
    """Start an image import on the 1C import page, as an admin does; return its session id."""
    page.goto(f"{base_url}/admin/integrations/import_1c/")
    page.check('input[name="import_type"][value="images"]')
    page.click('input[type="submit"]')
    page.wait_for_url(f"{base_url}/admin/integrations/importsession/")
    return ImportSession.objects.get(import_type="images", started_by="admin").pk
