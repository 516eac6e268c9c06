"""Faults during a run: lost database connections, a killed process, a full or unwritable
media disk, and re-runs. Nothing is lost, nothing is counted twice, every problem is named."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

import flows.images
from apps.imports.options import ImageImportOptions
from apps.imports.models import ImportSession
from apps.imports.services.sessions import import_session_create
from apps.products.models import Product
from apps.imports.services.images_import import product_images_import_chunk
from flows.images import import_images
from tests.conftest import make_image_bytes, media_files
from tests.flows.helpers import ON_THE_CLI_HOMES_WORKER, cli_prefect_home

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]

REPO = Path(__file__).resolve().parents[2]
needs_postgres = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs PostgreSQL (./dev test uses it): the fault is cut database connections / a second process",
)


def _products(exchange, count, images_each=2, size=(32, 24), noise=False):
    for n in range(count):
        guid = f"{n % 200:02x}{n:06d}-0000-0000-0000-000000000000"
        pictures = [exchange.add_image(guid, f"p{i}", data=make_image_bytes(size=size, color=(n % 250, i, 7), noise=noise))
                    for i in range(images_each)]
        Product.objects.create(onec_id=guid, onec_picture_paths=pictures)


def _run(exchange, **kwargs):
    session = import_session_create(import_type="images", started_by="cli")
    state = import_images(
        session_id=session.pk, data_dir=str(exchange.root), options=ImageImportOptions(**kwargs), return_state=True
    )
    session.refresh_from_db()
    return state, session


def _pictures():
    return list(Product.objects.order_by("onec_id").values_list("onec_id", "main_image", "gallery_images"))


def _terminate_other_connections():
    """Cut every server connection to the test database but this helper's own, as a
    PostgreSQL restart does to its clients."""
    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [db["NAME"]],
        )


@needs_postgres
def test_lost_database_connections_mid_run_are_retried_without_double_counting(exchange, media_root, monkeypatch):
    _products(exchange, 40)
    calls = []

    def chunk_losing_the_database(**kwargs):
        calls.append(kwargs["product_ids"][0])
        if len(calls) == 2:
            Product.objects.exists()  # this thread holds a live connection...
            _terminate_other_connections()  # ...and the server drops it and everyone else's
        return product_images_import_chunk(**kwargs)

    monkeypatch.setattr(flows.images, "product_images_import_chunk", chunk_losing_the_database)
    monkeypatch.setattr(flows.images.import_images_chunk, "retry_delay_seconds", [0, 0, 0])
    monkeypatch.setattr(flows.images.summarize, "retry_delay_seconds", [0, 0, 0])

    state, session = _run(exchange, chunk_size=10)
    connection.close()

    assert state.is_completed(), session.error_message
    assert session.status == "completed"
    assert len(calls) > 4  # 4 chunks; every chunk whose connection was cut ran again
    report = session.report_details
    assert (report["processed"], report["chunks_done"], report["copied"] + report["skipped"]) == (40, 4, 80)
    assert len(media_files(media_root)) == 80


@needs_postgres
@ON_THE_CLI_HOMES_WORKER
def test_killed_run_is_settled_by_the_next_start_and_a_rerun_finishes_the_job(exchange, media_root):
    _products(exchange, 120, images_each=3, size=(700, 700))
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(media_root),
        "ONEC_IMPORT_MAX_WORKERS": "2",
        "PREFECT_HOME": str(cli_prefect_home()),
    }
    env.pop("PREFECT_API_URL", None)
    process = subprocess.Popen(
        [sys.executable, str(REPO / "backend" / "manage.py"), "import_1c", "images", "--validate-images",
         "--chunk-size", "3", "--data-dir", str(exchange.root)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            session = ImportSession.objects.filter(status="in_progress").first()
            if session and session.report_details.get("chunks_done", 0) >= 2:
                break
            assert process.poll() is None, "the import ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("the import never got going")
        embedded_server_pids = _children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    killed = ImportSession.objects.get(pk=session.pk)
    assert killed.status == "in_progress" and killed.running_slot
    assert embedded_server_pids, "the CLI ran without its embedded Prefect server"
    assert _gone_within(embedded_server_pids, seconds=15), "the embedded Prefect server outlived the killed CLI"

    state, rerun = _run(exchange)

    killed.refresh_from_db()
    assert killed.status == "failed" and "stopped before finishing" in killed.error_message
    assert state.is_completed() and rerun.report_details["errors"] == 0
    assert rerun.report_details["copied"] + rerun.report_details["skipped"] == 360
    for _, main_image, gallery in _pictures():
        assert main_image and len(gallery) == 2 and main_image not in gallery and len(set(gallery)) == 2
    assert not list((media_root / ".incoming").glob("*"))
    assert len(media_files(media_root)) == 360


def _children(pid: int) -> set[int]:
    """The processes any thread of `pid` started; a thread that ended meanwhile (the import's
    chunk threads come and go) has none left to count."""
    children = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children.update(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return children


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait for a container's init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone_within(pids: set[int], *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_running(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def test_three_runs_give_identical_media_and_galleries(exchange, media_root):
    _products(exchange, 25, images_each=3)
    snapshots = []
    for _ in range(3):
        state, session = _run(exchange, chunk_size=7)
        assert state.is_completed()
        snapshots.append((media_files(media_root), _pictures()))
    assert snapshots[0] == snapshots[1] == snapshots[2]
    assert len(snapshots[0][0]) == 75


@pytest.fixture
def tiny_media_root(tmp_path, settings):
    """A 96 KiB file system as media storage: full after a few images."""
    root = tmp_path / "tiny-media"
    root.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(root)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.decode().strip()}); needs root")
    settings.MEDIA_ROOT = str(root)
    yield root
    subprocess.run(["umount", "-l", str(root)], check=False)


def test_full_media_disk_gives_per_file_errors_and_no_partial_files(exchange, tiny_media_root):
    _products(exchange, 10, images_each=2, size=(120, 120), noise=True)  # 20 files of ~15 KB: more than fits

    state, session = _run(exchange)

    assert state.is_completed()
    report = session.report_details
    # A photo copied while its renditions found the disk full is both copied and an error row.
    assert report["errors"] > 0 and report["copied"] > 0
    assert report["copied"] + report["errors"] - report["rendition_errors"] == 20
    assert "(no space left on the disk)" in session.error_message and "file(s) were not imported" in session.error_message
    stored = media_files(tiny_media_root)
    for name, data in stored.items():
        assert not name.startswith(".incoming"), f"partial file left: {name}"
        assert data.endswith(b"\xff\xd9"), f"{name} is not a whole JPEG"
    shown = {main for _, main, _ in _pictures() if main} | {g for _, _, gallery in _pictures() for g in gallery}
    assert shown <= set(stored)  # no product points at a file that is not there


def test_unwritable_media_folder_gives_readable_per_file_errors(exchange, media_root):
    _products(exchange, 3, images_each=1)
    (media_root / "products").mkdir()
    (media_root / "products" / "00").write_text("a file where a folder should be")

    state, session = _run(exchange)

    assert state.is_completed()
    assert session.report_details["errors"] == 1 and session.report_details["copied"] == 2
    assert "cannot write" in session.error_message


def _restart_postgres():
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True, capture_output=True, timeout=120,
    )


@needs_postgres
@pytest.mark.skipif(not os.path.isdir("/etc/postgresql"), reason="needs the local Debian PostgreSQL cluster to restart")
@pytest.mark.restarts_postgres  # alone: the other workers wait (tests/conftest.py)
def test_postgresql_restart_mid_run_is_survived(exchange, media_root, monkeypatch):
    _products(exchange, 60)
    calls = []

    def chunk_during_restart(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            _restart_postgres()
        return product_images_import_chunk(**kwargs)

    monkeypatch.setattr(flows.images, "product_images_import_chunk", chunk_during_restart)

    state, session = _run(exchange, chunk_size=5)
    connection.close()

    assert state.is_completed(), session.error_message
    report = session.report_details
    assert (report["processed"], report["chunks_done"], report["errors"]) == (60, 12, 0)
    assert report["copied"] + report["skipped"] == 120 and len(media_files(media_root)) == 120
