import contextvars
import json
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from prefect.settings import PREFECT_HOME
from prefect.task_runners import ThreadPoolTaskRunner

from apps.imports.options import ImageImportOptions
from apps.imports.models import ImportSession
from apps.imports.services.sessions import import_session_create
from apps.products.models import Product


def run_import_command(capsys, *args) -> dict:
    """Run `import_1c ... --json` in-process; return its last stdout line (exit 1 allowed)."""
    try:
        call_command("import_1c", *args, "--json")
    except SystemExit as exc:
        assert exc.code == 1
    out = capsys.readouterr().out.strip().splitlines()
    if not out:
        pytest.fail("import_1c printed no JSON report")
    return json.loads(out[-1])


@dataclass
class RunningImport:
    session_id: int
    thread: threading.Thread | None = None
    final_state: object = None  # the flow run's final Prefect state
    errors: list[BaseException] = field(default_factory=list)

    def wait(self, timeout: float = 180) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the image import of session #{self.session_id} did not end in {timeout} s"
        if self.errors:
            raise self.errors[0]


def start_image_import_in_thread(*, user, data_dir: Path, chunk_size: int) -> RunningImport:
    """Run the image flow in a background thread, one chunk at a time, for a session started
    by `user` from the admin: long enough to watch, on the test database and Prefect server."""
    from flows.images import import_images

    options = ImageImportOptions(chunk_size=chunk_size)
    session = import_session_create(
        import_type=ImportSession.ImportType.IMAGES,
        started_by=ImportSession.StartedBy.ADMIN,
        user=user,
        parameters={"data_dir": str(data_dir), "options": options.as_parameters()},
    )
    one_chunk_at_a_time = import_images.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    running = RunningImport(session_id=session.pk)

    def run():
        try:
            running.final_state = one_chunk_at_a_time(
                session_id=session.pk, data_dir=str(data_dir), options=options, return_state=True
            )
        except BaseException as exc:  # reported by wait()
            running.errors.append(exc)
        finally:
            connections.close_all()  # Django keeps connections in context variables: same context

    # The copied context carries the Prefect test server's settings into the thread.
    running.thread = threading.Thread(
        target=contextvars.copy_context().run, args=(run,), name=f"import-images-{session.pk}", daemon=True
    )
    running.thread.start()
    return running


def add_products_with_photos(exchange, *, count: int) -> Path:
    """`count` active products, each with one photo in the exchange's import_files;
    returns the exchange directory (the flow's data_dir)."""
    products = []
    for n in range(count):
        guid = f"{n % 256:02x}{uuid.uuid4().hex[2:]}"
        picture = exchange.add_image(guid, color=(n % 256, 90, 160))
        products.append(Product(onec_id=guid, name=f"Товар {n}", onec_picture_paths=[picture]))
    Product.objects.bulk_create(products)
    return exchange.root


# The tests whose command line starts its embedded server in `cli_prefect_home` run on one
# worker (`--dist loadgroup`): the first such run in a home migrates its new SQLite database
# (bench/RESULTS.md), so a fresh clone pays that once, not once per worker.
ON_THE_CLI_HOMES_WORKER = pytest.mark.xdist_group("cli-prefect-home")


def cli_prefect_home() -> Path:
    """The PREFECT_HOME of this xdist worker's command-line runs: the embedded servers of runs
    on different workers at once would otherwise share one SQLite database (./dev's
    `var/prefect`)."""
    prefect_home = PREFECT_HOME.value() / "cli-tests" / os.environ.get("PYTEST_XDIST_WORKER", "main")
    prefect_home.mkdir(parents=True, exist_ok=True)  # Prefect makes only the last folder
    return prefect_home


def cli_run(*args, media_root=None, env=None, environ=None, prefect_api_url=None):
    """`manage.py import_1c ...` in a process of its own, on the test database, in `environ`
    (this process' environment unless given) with `env` added; on the Prefect server at
    `prefect_api_url` (e.g. the session's, `session_prefect_api_url`), else on the embedded
    one the command starts for itself, as the README runs it. What that server wrote to its
    log during the run is the result's `server_log`. Unless PREFECT_HOME is given, the runs
    of each xdist worker have one of their own (`cli_prefect_home`)."""
    db = settings.DATABASES["default"]
    prefect_home_given = "PREFECT_HOME" in {**(environ or {}), **(env or {})}
    env = {
        **(os.environ if environ is None else environ),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if db["ENGINE"].endswith("postgresql")
        else f"sqlite:///{db['NAME']}",
        "MEDIA_ROOT": str(media_root or settings.MEDIA_ROOT),
        **(env or {}),
    }
    env.pop("PREFECT_API_URL", None)
    if prefect_api_url:
        env["PREFECT_API_URL"] = prefect_api_url
    if not prefect_home_given:
        env["PREFECT_HOME"] = str(cli_prefect_home())
    log = Path(env["PREFECT_HOME"]) / "embedded-server.log"
    before = log.stat() if log.exists() else None
    run = subprocess.run(
        [sys.executable, str(Path(__file__).resolve().parents[2] / "backend" / "manage.py"), "import_1c", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )
    run.server_log = ""
    if log.exists():
        with open(log, "rb") as server_output:
            if before is not None and os.fstat(server_output.fileno()).st_ino == before.st_ino:
                server_output.seek(before.st_size)  # else the server started a new log (rotated)
            run.server_log = server_output.read().decode("utf-8", errors="replace")
    return run
