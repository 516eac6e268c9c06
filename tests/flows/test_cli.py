"""`import_1c` as a user runs it: a separate process, exit codes, one readable line on failure."""
import json

import pytest
from django.conf import settings

from apps.products.models import Product
from tests.flows.helpers import cli_run

pytestmark = [pytest.mark.prefect, pytest.mark.django_db(transaction=True)]  # the command line starts an embedded Prefect server


def test_cli_imports_and_fails_readably(exchange, media_root):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs a database another process can see (run with PostgreSQL, as ./dev test does)")
    guid = "0a000000-0000-0000-0000-000000000001"
    exchange.add_goods(guid, pictures=[exchange.add_image(guid, "a"), exchange.add_image(guid, "b")])
    exchange.write_goods_xml()

    no_catalog = cli_run("images", "--data-dir", str(exchange.root), "--json", media_root=media_root)
    catalog = cli_run("catalog", "--data-dir", str(exchange.root), media_root=media_root)
    images = cli_run("images", "--data-dir", str(exchange.root), "--json", media_root=media_root)

    assert no_catalog.returncode == 1
    [reason] = [line for line in no_catalog.stderr.splitlines() if line.startswith("import_1c:")]
    assert reason.startswith("import_1c: no active products in the database")
    assert json.loads(no_catalog.stdout.strip().splitlines()[-1])["status"] == "failed"
    assert catalog.returncode == 0, catalog.stderr
    assert "completed" in catalog.stdout
    assert images.returncode == 0, images.stderr
    report = json.loads(images.stdout.strip().splitlines()[-1])
    assert (report["status"], report["copied"]) == ("completed", 2)
    for run in (no_catalog, catalog, images):
        assert "Traceback" not in run.stderr
        assert "View at" not in run.stderr  # the embedded server has no UI, and it is gone after the run
    assert Product.objects.get(onec_id=guid).main_image.name.endswith("_a.jpg")
