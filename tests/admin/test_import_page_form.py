"""The import page as a form: each image option on its own row with a label and a help
text, the shards field only where the shard deployment's pool exists, and what the last
catalog import found, read from its session (no exchange file is read on a page load)."""
from __future__ import annotations

import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from apps.imports.models import ImportSession
from apps.imports.services import sessions
from apps.products.models import Product
from tests.admin.conftest import PAGE_URL

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """The page's words are checked in English, the site's other language."""
    settings.LANGUAGE_CODE = "en"

OPTIONS = ["validate_images", "dry_run", "mirror", "verify_storage", "rebuild_renditions"]


def catalog_session(*, status="completed", data_dir="/srv/1c/exchange", **report) -> ImportSession:
    session = sessions.import_session_create(import_type="catalog", started_by="cli", parameters={"data_dir": data_dir})
    sessions.import_session_start(session_id=session.pk)
    sessions.import_session_update_report(session_id=session.pk, **report)
    if status == "completed":
        return sessions.import_session_complete(session_id=session.pk)
    if status == "failed":
        return sessions.import_session_fail(session_id=session.pk, error_message="goods.xml is not XML")
    return session


def option_rows(page: str) -> list[str]:
    return [chunk.split('"', 1)[0] for chunk in page.split('class="form-row import-option import-option--')[1:]]


def test_each_option_has_its_row_label_and_one_line_help_and_keeps_its_name(importer_client):
    response = importer_client.get(PAGE_URL)
    page = response.content.decode()

    assert option_rows(page) == OPTIONS  # no shard pool on this server: no shards row
    form = response.context["form"]
    for name in OPTIONS:
        field = form[name]
        assert field.label and field.help_text and "\n" not in str(field.help_text)
        assert f'name="{name}"' in page and f'id="id_{name}_helptext">{escape(field.help_text)}' in page
        assert f'<label for="id_{name}" class="vCheckboxLabel">{escape(field.label)}</label>' in page
    assert "shards" not in form.fields and 'name="shards"' not in page


def test_a_checked_option_stays_checked_when_the_import_is_refused(importer_client, tmp_path, settings):
    settings.ONEC_DATA_DIR = tmp_path / "nowhere"
    page = importer_client.post(PAGE_URL, {"import_type": "images", "mirror": "on"}).content.decode()

    assert '<input type="checkbox" name="mirror" aria-describedby="id_mirror_helptext" id="id_mirror" checked>' in page
    assert '<input type="checkbox" name="dry_run" aria-describedby="id_dry_run_helptext" id="id_dry_run">' in page


def test_the_shards_field_shows_where_the_shard_pool_exists_with_its_workers(importer_client, shard_pool):
    response = importer_client.get(PAGE_URL)
    page = response.content.decode()

    assert option_rows(page) == [*OPTIONS, "shards"]
    assert 'type="number" name="shards" value="1"' in page
    assert f'<span class="import-shard-pool">pool {shard_pool}: 1 worker online</span>' in page


def test_without_a_shard_pool_a_posted_shards_value_is_not_taken(importer, product, exchange_dir, deployments, client):
    client.force_login(importer)
    client.post(PAGE_URL, {"import_type": "images", "shards": "4"})

    assert ImportSession.objects.get().parameters["options"]["shards"] == 1


def test_the_summary_names_what_the_last_completed_catalog_import_found(importer_client):
    catalog_session(created=5, updated=1, pictures_listed=9, data_dir="/old")
    catalog_session(created=40, updated=8, deactivated=2, pictures_listed=184, total_files=4, processed=4)
    catalog_session(status="failed", created=1, pictures_listed=1, data_dir="/broken")
    catalog_session(status="in_progress", created=3, data_dir="/running")

    page = " ".join(importer_client.get(PAGE_URL).content.decode().split())

    last = ImportSession.objects.filter(status="completed").order_by("-id").first()
    assert (
        f'The last catalog import (<a href="/admin/integrations/importsession/{last.pk}/change/">session #{last.pk}</a>,'
        in page
    )
    assert "found 48 products, 184 photos listed, from /srv/1c/exchange." in page
    assert page.index("found 48 products") < page.index('class="submit-row"')


def test_a_session_from_before_photos_were_counted_names_its_products_only(importer_client):
    catalog_session(created=1, updated=0)

    page = " ".join(importer_client.get(PAGE_URL).content.decode().split())

    assert "found 1 product, from /srv/1c/exchange." in page


def test_without_a_completed_catalog_import_the_page_says_so(importer_client):
    catalog_session(status="failed", created=3)

    assert "No catalog import has completed yet" in importer_client.get(PAGE_URL).content.decode()


@pytest.fixture
def exchange_reads():
    """The paths under a directory that this process opens or lists while the fixture is
    active, seen by a Python audit hook (hooks cannot be removed: it stays, switched off)."""
    watch = {"root": None, "seen": []}

    def hook(event, args):
        if watch["root"] and event in {"open", "os.listdir", "os.scandir", "glob.glob"} and args:
            path = str(args[0])
            if path.startswith(watch["root"]):
                watch["seen"].append((event, path))

    sys.addaudithook(hook)
    yield watch
    watch["root"] = None


def test_the_page_reads_no_exchange_file_and_its_queries_do_not_grow(importer_client, exchange, settings, exchange_reads):
    for n in range(48):
        exchange.add_goods(f"0a1b2c3d-0000-0000-0000-{n:012d}", pictures=[exchange.add_image(f"0a1b2c3d{n:04d}")])
    exchange.write_goods_xml()
    settings.ONEC_DATA_DIR = exchange.root
    catalog_session(created=48, pictures_listed=48, data_dir=str(exchange.root))
    importer_client.get(PAGE_URL)  # templates loaded and cached

    exchange_reads["root"] = str(exchange.root)
    with CaptureQueriesContext(connection) as few:
        assert importer_client.get(PAGE_URL).status_code == 200
    exchange_reads["root"] = None
    assert exchange_reads["seen"] == []

    for n in range(20):
        catalog_session(created=n, data_dir=str(exchange.root))
    Product.objects.bulk_create(Product(onec_id=f"p{n}", name=f"Товар {n}") for n in range(50))
    with CaptureQueriesContext(connection) as many:
        page = importer_client.get(PAGE_URL).content.decode()
    assert "found 19 products" in page
    assert len(many) == len(few) <= 8, [query["sql"] for query in many]
