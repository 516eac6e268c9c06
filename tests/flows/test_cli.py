"""`import_1c` as a user runs it: a separate process, exit codes, one readable message on failure."""
import json
import os
import socket
import sqlite3

import pytest
from django.conf import settings

from apps.imports.models import ImportSession
from apps.products.models import Product
from tests.flows.helpers import ON_THE_CLI_HOMES_WORKER, cli_run
from tests.languages import other_language_sentences

ENGLISH = {"DJANGO_LANGUAGE_CODE": "en"}  # the assertions read the English texts

# The command line starts an embedded Prefect server, or runs on the session's test server
# where a test's subject is not the embedded server (`session_prefect_api_url`).
pytestmark = [pytest.mark.prefect, pytest.mark.django_db(transaction=True)]


@ON_THE_CLI_HOMES_WORKER
def test_cli_imports_and_fails_readably(exchange, media_root, session_prefect_api_url):
    """The refusal and the catalog on the session's Prefect server, the images (the photos
    copied) on the embedded one, as the README's command runs."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs a database another process can see (run with PostgreSQL, as ./dev test does)")
    guid = "0a000000-0000-0000-0000-000000000001"
    exchange.add_goods(guid, pictures=[exchange.add_image(guid, "a"), exchange.add_image(guid, "b")])
    exchange.write_goods_xml()
    on_server = {"media_root": media_root, "env": ENGLISH, "prefect_api_url": session_prefect_api_url}

    no_catalog = cli_run("images", "--data-dir", str(exchange.root), "--json", **on_server)
    catalog = cli_run("catalog", "--data-dir", str(exchange.root), **on_server)
    images = cli_run("images", "--data-dir", str(exchange.root), "--json", media_root=media_root, env=ENGLISH)

    assert no_catalog.returncode == 1
    [reason] = [line for line in no_catalog.stderr.splitlines() if line.startswith("import_1c:")]
    assert reason.startswith("import_1c: no active products in the database")
    assert json.loads(no_catalog.stdout.strip().splitlines()[-1])["status"] == "failed"
    assert catalog.returncode == 0, catalog.stderr
    assert "Product catalog — session #" in catalog.stdout and ": Completed in " in catalog.stdout
    assert "  Goods: created — 1" in catalog.stdout  # each counter under its label, not its key
    assert images.returncode == 0, images.stderr
    report = json.loads(images.stdout.strip().splitlines()[-1])
    assert (report["status"], report["copied"]) == ("completed", 2)
    for run in (no_catalog, catalog, images):
        assert "Traceback" not in run.stderr + run.server_log  # the embedded server's log: the images' run
        assert "View at" not in run.stderr  # Prefect's engine lines are left out (the embedded server has no UI)
        assert "Finished in state" not in run.stderr and "Beginning flow run" not in run.stderr
    assert Product.objects.get(onec_id=guid).main_image.name.endswith("_a.jpg")


@ON_THE_CLI_HOMES_WORKER
def test_the_terminal_says_our_lines_in_the_sites_language(exchange, media_root, session_prefect_api_url):
    """In Russian (the default): the flows' lines translated in the command's process and in
    its tasks' threads, Prefect's routine engine lines left out, a refused step in our words;
    the catalog on the embedded server, the refusals on the session's Prefect server."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs a database another process can see (run with PostgreSQL, as ./dev test does)")
    exchange.add_goods("0a000000-0000-0000-0000-000000000003")
    exchange.write_goods_xml()
    russian = {"media_root": media_root, "env": {"DJANGO_LANGUAGE_CODE": "ru"}}

    refused = cli_run("images", "--data-dir", str(exchange.root), **russian, prefect_api_url=session_prefect_api_url)
    catalog = cli_run("catalog", "--data-dir", str(exchange.root), **russian)
    no_pictures = exchange.root / "no-pictures"
    (no_pictures / "goods").mkdir(parents=True)  # a step refused without a retry: Prefect logs only its final state
    unchecked = cli_run("images", "--data-dir", str(no_pictures), **russian, prefect_api_url=session_prefect_api_url)

    assert refused.returncode == 1 and catalog.returncode == 0 and unchecked.returncode == 1, catalog.stderr
    for run in (refused, catalog, unchecked):
        english = other_language_sentences(run.stdout + run.stderr, "ru")  # Prefect's lines, or ours untranslated
        assert not english, run.stdout + run.stderr
        assert "Traceback" not in run.stderr + run.server_log
    assert "validate-catalog" in refused.stderr and ": ошибка: в базе нет активных товаров: " in refused.stderr
    assert "import_1c: в базе нет активных товаров: " in refused.stderr
    assert unchecked.stderr.count(": ошибка: папки изображений ") == 1, unchecked.stderr  # the flow run's, said once
    assert ": файлы обмена: groups — 0, goods — 1, offers — 0\n" in catalog.stderr
    assert "Каталог товаров: Файлов обмена — 1, Файлов обработано — 1, Товары: создано — 1, " in catalog.stderr
    assert "  Товары: создано — 1\n" in catalog.stdout


def test_the_documented_command_line_prints_no_traceback_and_never_phones_home(exchange, media_root, tmp_path):
    """As docs/cli.md runs it, without ./dev's environment. The embedded server's telemetry
    service, on by Prefect's default, starts by writing a telemetry session to the server's
    database: either that row is there afterwards, or the write met the run's and printed a
    `send_telemetry_heartbeat ... database is locked` traceback (as it did on a real 1C
    export; the server's output goes to its log). The command turns telemetry off itself:
    neither happens."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs a database another process can see (run with PostgreSQL, as ./dev test does)")
    exchange.add_goods("0a000000-0000-0000-0000-000000000002")
    exchange.write_goods_xml()
    env = {name: value for name, value in os.environ.items()
           if name not in ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")

    run = cli_run("catalog", "--data-dir", str(exchange.root), media_root=media_root, environ=env)

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stdout + run.stderr + run.server_log
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as prefect_db:
        keys = {key for (key,) in prefect_db.execute("SELECT key FROM configuration")}
    assert "TELEMETRY_SESSION" not in keys


def test_an_embedded_server_that_cannot_start_is_reported_with_the_end_of_its_log(exchange, media_root, tmp_path):
    """Its database unreachable: the command says so in one message (how the server's log
    ends, where the log is, what to set) and exits 1, with no traceback of its own and no
    session made; the server's own traceback is in its log, not in the terminal. A log that
    earlier runs grew past 1 MiB is moved aside first."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    prefect_home = tmp_path / "prefect"
    prefect_home.mkdir()
    earlier_runs = "an earlier run's line\n" * 60_000  # past 1 MiB: the log is moved aside
    (prefect_home / "embedded-server.log").write_text(earlier_runs)

    run = cli_run("catalog", "--data-dir", str(exchange.root), media_root=media_root, env={
        **ENGLISH, "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/prefect",
    })

    log = prefect_home / "embedded-server.log"
    assert run.returncode == 1, run.stderr
    assert run.stderr.startswith(
        f"import_1c: Prefect's embedded server exited with code 3 while starting; its log {log} ends with:\n"
    ), run.stderr
    assert "ConnectionRefusedError" in run.stderr and f"127.0.0.1', {port})" in run.stderr
    assert run.stderr.rstrip().endswith(
        "Fix what it says (e.g. PREFECT_SERVER_DATABASE_CONNECTION_URL), or set PREFECT_API_URL to a running server"
    )
    assert "Traceback" not in run.stdout + run.stderr
    assert "Traceback (most recent call last)" in run.server_log
    assert not ImportSession.objects.exists()
    assert (prefect_home / "embedded-server.log.1").read_text() == earlier_runs
    assert log.read_text() == run.server_log and "earlier run" not in run.server_log
