"""Sharded image imports that cannot work say what to start: no worker serves the shard
pool (on the Prefect test server, whose deployments no worker runs), or the embedded
server (the command line refuses). How chunks are dealt to shards. The project's code
imports only Prefect's public modules (tests/e2e/test_sharded_import.py runs the shard
worker built on them)."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from apps.imports.options import ImageImportOptions
from apps.imports.models import ImportSession
from apps.imports.services.sessions import import_session_create
from flows.images import import_images, import_images_shard
from flows.shards import SHARD_DEPLOYMENT, shard_chunk_indexes
from tests.flows.helpers import add_products_with_photos

REPO = Path(__file__).resolve().parents[2]


def _private_prefect_imports(path: Path) -> list[str]:
    """`module` or `module.name` of each import of a Prefect module or name whose path has a
    part starting with an underscore: private, free to change in any Prefect release."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [name for name in imported if name.split(".")[0] == "prefect"
                  and any(part.startswith("_") and not part.startswith("__") for part in name.split("."))]
    return found


def test_no_private_prefect_module_or_name_is_imported():
    sources = [path for folder in ("backend", "flows", "bench", "tests") for path in (REPO / folder).rglob("*.py")]
    private = {str(path.relative_to(REPO)): names for path in sources if (names := _private_prefect_imports(path))}
    assert "flows/warm_worker.py" in {str(path.relative_to(REPO)) for path in sources}
    assert private == {}, "private Prefect imports (use Prefect's public modules): " + repr(private)


def test_chunks_are_dealt_round_robin_without_empty_shards():
    assert shard_chunk_indexes(chunks=5, shards=2) == [[0, 2, 4], [1, 3]]
    assert shard_chunk_indexes(chunks=2, shards=4) == [[0], [1]]
    assert shard_chunk_indexes(chunks=0, shards=2) == []


@pytest.fixture
def shard_deployment_without_workers(prefect_server):
    with get_client(sync_client=True) as client:
        try:
            client.delete_deployment(client.read_deployment_by_name(SHARD_DEPLOYMENT).id)
        except ObjectNotFound:
            pass
        client.create_deployment(flow_id=client.create_flow(import_images_shard), name="images-shard")


@pytest.mark.django_db(transaction=True)
def test_no_worker_on_the_shard_pool_fails_the_run_saying_what_to_start(
    shard_deployment_without_workers, exchange, media_root, settings
):
    settings.ONEC_SHARD_START_TIMEOUT_SECONDS = 3
    data_dir = add_products_with_photos(exchange, count=4)
    session = import_session_create(import_type="images", started_by="cli")

    state = import_images(
        session_id=session.pk, data_dir=str(data_dir), options=ImageImportOptions(chunk_size=1, shards=2),
        return_state=True,
    )
    session.refresh_from_db()

    assert state.is_failed() and session.status == ImportSession.Status.FAILED
    assert session.error_message.startswith(
        "2 of 2 shards failed after retries (shard 0: no worker of the pool onec-images-shards picked it up in 3 s"
    )
    assert "start `python -m flows.shard_worker` on the hosts" in session.error_message
    with translation.override("ru"):  # and in the site's language
        said = session.error_message_text
    assert said.startswith("2 из 2 шардов не выполнены после повторов (шард 0: ни один обработчик пула onec-images-shards")
    assert session.report_details["chunks_done"] == 0


def test_the_embedded_server_is_refused_before_anything_runs(tmp_path):
    """Before the embedded server even starts (it would take seconds, only to be refused)."""
    result = subprocess.run(
        [sys.executable, "backend/manage.py", "import_1c", "images", "--shards", "2", "--data-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PREFECT_API_URL": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
             "PREFECT_HOME": str(tmp_path / "prefect"), "DJANGO_LANGUAGE_CODE": "en"},
    )

    assert result.returncode == 1, result.stderr
    assert "--shards 2 needs a Prefect server whose workers serve the pool onec-images-shards" in result.stderr
    assert not (tmp_path / "prefect" / "prefect.db").exists()  # no embedded server made its database
