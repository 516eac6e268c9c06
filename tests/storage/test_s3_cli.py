"""`import_1c` in its own process with media in S3 from the environment alone
(AWS_STORAGE_BUCKET_NAME & co.), and `--verify-storage` putting back a deleted object."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from apps.products.models import Product
from apps.media.models import StoredImage

# The command line reports to the session's Prefect test server: its embedded server (a
# start of its own per call) is tested in tests/flows/test_cli.py.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]

REPO = Path(__file__).resolve().parents[2]
GUID = "0c000000-0000-0000-0000-000000000001"


def _cli(*args, environ):
    from prefect.settings import PREFECT_API_URL

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        **environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": PREFECT_API_URL.value(),  # the test server's
    }
    return subprocess.run(
        [sys.executable, str(REPO / "backend" / "manage.py"), "import_1c", *args, "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )


def _report(run) -> dict:
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_cli_imports_into_the_bucket_and_verify_storage_restores(exchange, s3_media):
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("needs a database another process can see (run with PostgreSQL, as ./dev test does)")
    pictures = [exchange.add_image(GUID, "a"), exchange.add_image(GUID, "b")]
    exchange.add_goods(GUID, pictures=pictures)
    exchange.write_goods_xml()
    environ = s3_media.environ()
    names = {"products/" + p.removeprefix("import_files/") for p in pictures}

    first = _report(_cli("catalog", "images", "--data-dir", str(exchange.root), environ=environ))
    renditions = s3_media.keys() - names
    s3_media.client.delete_object(Bucket=s3_media.bucket, Key=sorted(names)[1])
    s3_media.client.delete_object(Bucket=s3_media.bucket, Key=sorted(renditions)[0])
    trusting = _report(_cli("images", "--data-dir", str(exchange.root), environ=environ))
    verified = _report(_cli("images", "--verify-storage", "--data-dir", str(exchange.root), environ=environ))

    assert (first["status"], first["copied"], first["renditions_created"]) == ("completed", 2, 4)  # WebP + JPEG each
    assert all(name.startswith("renditions/") for name in renditions) and len(renditions) == 4
    assert (trusting["copied"], trusting["skipped"], trusting["renditions_created"]) == (0, 2, 0)
    assert (verified["status"], verified["copied"], verified["skipped"]) == ("completed", 1, 1)
    assert verified["renditions_created"] >= 1  # the deleted rendition is made again
    assert s3_media.keys() == names | renditions
    assert Product.objects.get(onec_id=GUID).main_image.name == sorted(names)[0]
    assert set(StoredImage.objects.values_list("name", flat=True)) == names
