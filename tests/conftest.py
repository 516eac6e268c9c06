"""Shared fixtures: a temporary MEDIA_ROOT, real image files made with Pillow, 1C exchange
directories written on disk, one Prefect test server for the whole session (each xdist
worker's session), and the tiers' markers, set from the fixtures a test uses."""
from __future__ import annotations

import email
import email.policy
import fcntl
import hashlib
import io
import logging
import os
import shutil
import tempfile
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from django.test.utils import override_settings
from django.utils import translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from PIL import Image

from commerceml import writer as cml
from commerceml.layout import GOODS_DIRNAME, IMPORT_FILES_DIRNAME, picture_path
from devtools.ports import free_port
from devtools.postgres import drop_database, fresh_database

# Property-based tests (tests/unit/test_malformed_input.py): 100 cases a test, the same on
# every run (no example database in the clone); HYPOTHESIS_PROFILE=thorough tries many more,
# at random, to look for new failures. Cases are timed by the tests themselves, not here.
hypothesis_settings.register_profile(
    "project", max_examples=100, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.register_profile("thorough", parent=hypothesis_settings.get_profile("project"),
                                     max_examples=3000, derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "project"))

SAMPLE_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "onec-sample"


@pytest.fixture(autouse=True)
def no_prefect_events_client_during_property_tests(request):
    """Hypothesis warns when the global `random` moves while it generates a case, and Prefect's
    events client, left running by an earlier flow test of the worker, reconnects now and then,
    pinging its server with a payload from the global `random` (websockets' `ping`): a
    property test warned about a `random` its strategies never use. Stopped before such a test
    (Prefect starts it again for the next run), it cannot; the warning stays for a real case."""
    if request.node.get_closest_marker("hypothesis"):  # Hypothesis' pytest plugin marks its tests
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=10)
    yield


def make_image_bytes(*, size=(32, 24), color=(200, 30, 30), fmt="JPEG", noise=False) -> bytes:
    """A real, decodable image; different colors give different bytes; `noise` makes it
    photo-sized (random pixels compress badly)."""
    buffer = io.BytesIO()
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    image.save(buffer, fmt)
    return buffer.getvalue()


class Exchange:
    """A 1C exchange directory under construction: goods XML and import_files/XX/ photos."""

    def __init__(self, root: Path):
        self.root = root
        self.goods_dir = root / GOODS_DIRNAME
        self.images_dir = self.goods_dir / IMPORT_FILES_DIRNAME
        self.images_dir.mkdir(parents=True, exist_ok=True)
        self._goods: list[cml.Goods] = []

    def add_image(self, guid: str, file_guid: str | None = None, *, ext="jpg", data: bytes | None = None, color=None) -> str:
        """Write import_files/XX/<guid>_<file_guid>.<ext>; return the <Картинка> path."""
        path = picture_path(guid, file_guid or uuid.uuid4().hex[:8], ext)
        file = self.goods_dir / path
        file.parent.mkdir(exist_ok=True)
        if data is None:
            fmt = "PNG" if ext.lower() == "png" else "JPEG"
            # A colour of the file's name, the same in every process (str's hash() is not): two
            # pictures' colours collided 1 time in 256, and a test expecting two photos got one.
            data = make_image_bytes(color=color or tuple(hashlib.sha256(file.name.encode()).digest()[:3]), fmt=fmt)
        file.write_bytes(data)
        return path

    def add_goods(self, guid: str, *, name="Товар", pictures=(), deleted=False, article="") -> None:
        self._goods.append(cml.Goods(guid, name, article=article, pictures=pictures, deleted=deleted))

    def write_goods_xml(self, filename="goods.xml", *, bom=False) -> Path:
        return cml.write_file(self.goods_dir, filename, cml.CommerceMLWriter().goods(self._goods, bom=bom))


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Passwords hashed at one iteration in the test process (tests/passwords.py)."""
    with override_settings(PASSWORD_HASHERS=["tests.passwords.OneIterationPBKDF2PasswordHasher"]):
        yield


@pytest.fixture
def caplog(caplog):
    """pytest's caplog, also on the project's loggers that do not propagate to the root one,
    where caplog listens (settings.LOGGING: `apps`, `config`, `django`)."""
    from django.conf import settings

    loggers = [logging.getLogger(name) for name, config in settings.LOGGING["loggers"].items()
               if config.get("propagate") is False]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    yield caplog
    for logger in loggers:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def exchange(tmp_path) -> Exchange:
    return Exchange(tmp_path / "import_1c")


@pytest.fixture
def in_english(settings):
    """The site in English (DJANGO_LANGUAGE_CODE=en): for tests that assert the English texts."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def media_root(tmp_path, settings) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def sample_dir() -> Path:
    if not (SAMPLE_DIR / "goods" / "goods.xml").is_file():
        pytest.skip(f"the real 1C sample is not at {SAMPLE_DIR} (it lives in ../shared/onec-sample)")
    return SAMPLE_DIR


# The tiers (pyproject.toml registers the markers; `./dev test --quick` runs "not slow"
# tests with none of these servers): a test is marked by the fixtures it uses, so a new
# test that takes the Prefect test server, SeaweedFS, a live Django server or the stack
# is in the right tier without a marker of its own.
TIER_FIXTURES = {
    "prefect": ("prefect_server",),
    "s3": ("seaweed",),
    "browser": ("live_server",),
    "e2e": ("running_stack",),
}


def stack_group(item) -> str:
    """The xdist group of a stack test: one per test package (tests/e2e, tests/exchange).
    Under xdist (`--dist loadgroup`, as ./dev test runs it) each group goes to one worker,
    whose session starts a stack of its own (ports, PREFECT_HOME, directories and test
    database its own): the two packages' tests, mostly waiting for flow runs, run side by
    side on two stacks instead of one after the other on one."""
    return f"stack-{item.path.parent.name}"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for marker, names in TIER_FIXTURES.items():
            if fixtures.intersection(names):
                item.add_marker(marker)
        if "running_stack" in fixtures:
            item.add_marker(pytest.mark.xdist_group(stack_group(item)))


class _StackTestsFirst:
    @pytest.hookimpl(trylast=True)  # after pytest-django's ordering
    def pytest_collection_modifyitems(self, items):
        """The stack's tests first: a worker per stack group takes them at once (the longest
        shares of the run), the others everything else meanwhile. A test that runs alone (`_runs_alone`)
        last: it waits for every other worker's test to end, and at the end they have none left."""
        on_stack = [item for item in items if "running_stack" in getattr(item, "fixturenames", ())]
        alone = [item for item in items if _runs_alone(item) and item not in on_stack]
        items[:] = on_stack + [item for item in items if item not in on_stack and item not in alone] + alone


def pytest_configure(config):
    config.pluginmanager.register(_StackTestsFirst(), "onec-stack-tests-first")


def _turnstile(item) -> Path | None:
    """The turnstile's lock files of this run's workers (`_cluster_turn`); None in one process,
    where nothing runs beside a test."""
    workerinput = getattr(item.config, "workerinput", None)
    if workerinput is None:
        return None
    return Path(tempfile.gettempdir()) / f"onec-tests-{workerinput['testrunuid']}"


def _runs_alone(item) -> bool:
    """A test whose call runs while no other worker runs a test (`_alone_turn`): `alone`, or
    `restarts_postgres`."""
    return bool(item.get_closest_marker("alone") or item.get_closest_marker("restarts_postgres"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Under xdist, every test takes a shared turn for its whole protocol; a test that runs
    alone takes its turns phase by phase instead (`_alone_turn`)."""
    base = _turnstile(item)
    if base is None or _runs_alone(item):
        yield
        return
    with _cluster_turn(base, exclusive=False):
        yield


@contextmanager
def _alone_turn(item, *, exclusive: bool):
    """The call of a test that runs alone, while no other worker runs a test: an `alone` test
    asserts a latency 1C's limits measure (the request's own, not the other workers'); a
    `restarts_postgres` test restarts the cluster that serves every worker's database and the
    stacks. Its set-up and teardown (e.g. starting the session's stack or Prefect test server,
    or flushing its database after the restart) run beside the others, which need not wait
    for them."""
    base = _turnstile(item)
    if base is None or not _runs_alone(item):
        yield
        return
    with _cluster_turn(base, exclusive=exclusive):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _alone_turn(item, exclusive=False):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _alone_turn(item, exclusive=True):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a stack test's teardown (its module's fixtures' too), the session's stack stops
    unless the next test uses it (`running_stack`)."""
    with _alone_turn(item, exclusive=False):
        yield
        if "running_stack" in item.fixturenames and (nextitem is None or "running_stack" not in nextitem.fixturenames):
            holder = item.config.stash.get(SESSION_STACK, None)
            if holder is not None:
                holder.stop()


@contextmanager
def _cluster_turn(base: Path, *, exclusive: bool):
    """A turnstile of two file locks: every test holds `room` shared; an exclusive one first
    closes `gate` (no test starts any more), then waits for `room` to empty."""
    with open(f"{base}.gate", "a") as gate, open(f"{base}.room", "a") as room:
        if exclusive:
            fcntl.flock(gate, fcntl.LOCK_EX)
            fcntl.flock(room, fcntl.LOCK_EX)
        else:
            fcntl.flock(gate, fcntl.LOCK_SH)
            fcntl.flock(room, fcntl.LOCK_SH)
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(room, fcntl.LOCK_UN)
            fcntl.flock(gate, fcntl.LOCK_UN)


SESSION_STACK = pytest.StashKey["SessionStack"]()


@pytest.fixture(scope="session")
def session_stack(request, tmp_path_factory, django_db_setup, django_db_blocker):
    """The session's stack, started by the first test that needs it (`running_stack`) and
    stopped after the last one (`pytest_runtest_teardown`), or at the end of the session."""
    from tests.e2e.conftest import SessionStack

    holder = request.config.stash[SESSION_STACK] = SessionStack(tmp_path_factory)
    try:
        yield holder
    finally:
        holder.stop()


@pytest.fixture(scope="module")
def running_stack(session_stack):
    """One stack for the session (tests/e2e/conftest.py): `prefect server start`, the work
    pools, `prefect deploy --all`, a worker and Django's server on the test database. Its
    tests take it through `stack` (tests/e2e) or `exchange_stack` (tests/exchange); under
    xdist each stack group's worker starts one (`stack_group`). Its tests run first
    (`_StackTestsFirst`), and it stops once the next test needs none: idle, its server and
    workers, polling each other every second, still take CPU from the other workers' tests."""
    return session_stack.started()


def prefect_database_url(tmp_path_factory, suffix: str) -> str:
    """A new, empty database for a Prefect server: in the test database's PostgreSQL, named
    after the test database (one per xdist worker), or a SQLite file when the tests run on
    SQLite. `drop_prefect_database` removes it."""
    from django.db import connection

    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(suffix) / 'prefect.db'}"
    server = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}"
    return fresh_database(server, f"{db['NAME']}_{suffix}").replace("postgresql://", "postgresql+asyncpg://", 1)


def drop_prefect_database(url: str) -> None:
    if url.startswith("postgresql"):
        server, _, name = url.replace("postgresql+asyncpg://", "postgresql://", 1).rpartition("/")
        drop_database(server, name)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory, django_db_setup):
    """One Prefect test server shared by every flow test of the session (each xdist worker's),
    started as the command line starts its embedded one, with its database in PostgreSQL
    (`prefect_database_url`). Every thread of this process uses it, the live server's too:
    its address is in this process' environment, which Prefect's global settings are
    refreshed from.

    The flow runs of this process send no heartbeats. The engine's heartbeat thread sleeps
    a second at a time, and every run ends by waiting for it (up to two seconds), which made
    much of a flow test's time (bench/RESULTS.md). The product counts on heartbeats only for
    shard runs, and the shard tests run on the stack, where every run sends them."""
    from prefect.context import refresh_global_settings_context
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_DATABASE_CONNECTION_URL,
        temporary_settings,
    )

    from apps.imports.prefect_api.embedded import embedded_server

    database_url = prefect_database_url(tmp_path_factory, "prefect")
    outer_api_url = os.environ.pop("PREFECT_API_URL", None)  # a developer's own server is not the tests'
    refresh_global_settings_context()
    try:
        with ExitStack() as server:
            with temporary_settings(updates={PREFECT_SERVER_DATABASE_CONNECTION_URL: database_url}):
                os.environ["PREFECT_API_URL"] = server.enter_context(embedded_server())
            refresh_global_settings_context()
            server.enter_context(temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
            yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        if outer_api_url is not None:
            os.environ["PREFECT_API_URL"] = outer_api_url
        refresh_global_settings_context()
        drop_prefect_database(database_url)


@pytest.fixture(scope="session")
def session_prefect_api_url(prefect_server) -> str:
    """The session's Prefect test server's API: for a command line run in its own process
    whose test is not about the embedded server the command otherwise starts (seconds of CPU
    and of wall each)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def session_deployments(prefect_server) -> dict[str, str]:
    """The deployments of every import type on the session's test server, made once
    (`deployments`, tests/admin/conftest.py, gives each test them as if made for it)."""
    from tests.admin.conftest import deploy_every_import_type

    return deploy_every_import_type()


class MailInbox:
    """The messages a test's SMTP server (`smtp_server`) accepted, parsed; `refuse` answers
    that many messages with 451 (try again later) first, as a busy mail server does."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 mail server busy, try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on a free port, and Django's e-mail settings pointing
    at it (pytest-django's in-memory backend replaced by the SMTP one); yields its inbox."""
    from aiosmtpd.controller import Controller

    inbox = MailInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()


def media_files(root: Path) -> dict[str, bytes]:
    """Every file in media but the web renditions (`rendition_files`)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "renditions"
    }


def rendition_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "renditions").rglob("*")) if p.is_file()}


@pytest.fixture
def copy_sample(tmp_path, sample_dir) -> Path:
    """A writable copy of the real sample exchange."""
    target = tmp_path / "sample"
    shutil.copytree(sample_dir, target)
    return target
