"""`import_1c` as a user runs it: a separate process, exit codes, one readable line on failure."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from apps.products.models import Product

pytestmark = [pytest.mark.prefect, pytest.mark.django_db(transaction=True)]  # the command line starts an embedded Prefect server

REPO = Path(__file__).resolve().parents[2]


def _cli(*args, media_root):
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if db["ENGINE"].endswith("postgresql")
        else f"sqlite:///{db['NAME']}",
        "MEDIA_ROOT": str(media_root),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DJANGO_LANGUAGE_CODE": "en",  # the assertions read the English texts
    }
    env.pop("PREFECT_API_URL", None)
    return subprocess.run(
        [sys.executable, str(REPO / "backend" / "manage.py"), "import_1c", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


def test_cli_imports_and_fails_readably(exchange, media_root):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs a database another process can see (run with PostgreSQL, as ./dev test does)")
    guid = "0a000000-0000-0000-0000-000000000001"
    exchange.add_goods(guid, pictures=[exchange.add_image(guid, "a"), exchange.add_image(guid, "b")])
    exchange.write_goods_xml()

    no_catalog = _cli("images", "--data-dir", str(exchange.root), "--json", media_root=media_root)
    catalog = _cli("catalog", "--data-dir", str(exchange.root), media_root=media_root)
    images = _cli("images", "--data-dir", str(exchange.root), "--json", media_root=media_root)

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
