"""The 1C import page: who may see it, what it shows, and every check that keeps an import
from starting (none of them creates a session)."""
import html
import socket

import pytest
from django.contrib.auth.models import User
from django.test import Client
from prefect.settings import PREFECT_API_URL, temporary_settings

from apps.imports.models import ImportSession
from apps.imports.services.sessions import import_session_create
from tests.admin.conftest import PAGE_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_prefect_api():
    """A Django process without PREFECT_API_URL (whatever the test session set)."""
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield


@pytest.fixture
def unreachable_prefect_api():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}):
        yield f"http://127.0.0.1:{port}/api"


def _errors(response) -> list[str]:
    return [html.unescape(str(problem)) for problem in response.context["problems"]] + list(response.context["form"].errors.get("import_type", []))


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(PAGE_URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_permission_is_refused(client):
    client.force_login(User.objects.create_user("clerk", password="pw", is_staff=True))
    assert client.get(PAGE_URL).status_code == 403
    assert client.post(PAGE_URL, {"import_type": "images"}).status_code == 403
    assert not ImportSession.objects.exists()


def test_page_lists_the_five_types_with_what_they_read_in_the_configured_directory(
    importer_client, product, settings, tmp_path
):
    settings.ONEC_DATA_DIR = tmp_path / "shop-exchange"
    response = importer_client.get(PAGE_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Изображения товаров" in page
    assert "Обновление основных изображений и галерей товаров из каталога обмена с 1С" in page
    assert f"{settings.ONEC_DATA_DIR}/goods/import_files/XX/*.jpg, *.png" in page
    assert f"{settings.ONEC_DATA_DIR}/groups/*.xml, {settings.ONEC_DATA_DIR}/propertiesGoods/*.xml" in page
    assert "data/import_1c" not in page
    rows = {row["spec"].key: row for row in response.context["import_types"]}
    assert list(rows) == ["catalog", "stocks", "prices", "customers", "images"]
    assert {t for t, row in rows.items() if row["spec"].needs_catalog} == {"stocks", "prices", "images"}
    assert page.count("требует каталог") == 3
    assert rows["images"]["selected"] and not any(row["needs_catalog_warning"] for row in rows.values())
    assert 'name="csrfmiddlewaretoken"' in page


def test_get_warns_about_an_empty_catalog_and_changes_nothing(importer_client):
    response = importer_client.get(PAGE_URL)

    rows = {row["spec"].key: row for row in response.context["import_types"]}
    assert {t for t, row in rows.items() if row["needs_catalog_warning"]} == {"stocks", "prices", "images"}
    assert "В базе нет товаров: сначала выполните импорт «Каталог товаров»." in response.content.decode()
    assert not ImportSession.objects.exists()


def test_the_page_is_linked_from_the_admin_index(importer_client):
    assert PAGE_URL in importer_client.get("/admin/").content.decode()


def test_post_without_csrf_token_is_refused(importer, product, exchange_dir):
    client = Client(enforce_csrf_checks=True)
    client.force_login(importer)
    assert client.post(PAGE_URL, {"import_type": "images"}).status_code == 403
    assert not ImportSession.objects.exists()


def test_only_get_and_post_are_allowed(importer_client):
    assert importer_client.put(PAGE_URL).status_code == 405


@pytest.mark.usefixtures("in_english")
def test_images_without_products_or_directory_names_both_problems_and_keeps_the_choice(
    importer_client, tmp_path, settings, no_prefect_api
):
    settings.ONEC_DATA_DIR = tmp_path / "nowhere"

    response = importer_client.post(PAGE_URL, {"import_type": "images", "validate_images": "on"})

    assert response.status_code == 200
    errors = _errors(response)
    assert any("no active products in the database: run the catalog import first" in e for e in errors)
    assert any(f"image directory {tmp_path / 'nowhere' / 'goods' / 'import_files'} does not exist" in e for e in errors)
    assert {row["spec"].key for row in response.context["import_types"] if row["selected"]} == {"images"}
    assert 'value="images"\n                     checked' in response.content.decode()
    assert not ImportSession.objects.exists()


@pytest.mark.usefixtures("in_english")
def test_catalog_without_goods_files_is_refused(importer_client, tmp_path, settings, no_prefect_api):
    settings.ONEC_DATA_DIR = tmp_path

    errors = _errors(importer_client.post(PAGE_URL, {"import_type": "catalog"}))

    assert any(f"no goods files in {tmp_path}" in e for e in errors)
    assert not any("no active products" in e for e in errors)
    assert not ImportSession.objects.exists()


@pytest.mark.usefixtures("in_english")
def test_without_prefect_api_url_it_says_what_to_set(importer_client, product, exchange_dir, no_prefect_api):
    errors = _errors(importer_client.post(PAGE_URL, {"import_type": "images"}))

    assert errors == [
        "PREFECT_API_URL is not set for the Django process: start everything with ./dev stack, "
        "or set PREFECT_API_URL to the Prefect server's API (e.g. http://127.0.0.1:4200/api)"
    ]
    assert not ImportSession.objects.exists()


def test_an_unreachable_prefect_api_is_named(importer_client, product, exchange_dir, unreachable_prefect_api):
    (error,) = _errors(importer_client.post(PAGE_URL, {"import_type": "images"}))

    assert f"API Prefect по адресу {unreachable_prefect_api} недоступен" in error  # the site's language
    assert "запустите сервер Prefect (./dev stack) или исправьте PREFECT_API_URL" in error
    assert not ImportSession.objects.exists()


def test_another_running_import_is_named(importer_client, product, exchange_dir, no_prefect_api):
    running = import_session_create(import_type="catalog", started_by="cli")

    response = importer_client.post(PAGE_URL, {"import_type": "images"})

    assert any(
        f"уже выполняется другой импорт: сессия #{running.pk} (Каталог товаров, Ожидает)" in e for e in _errors(response)
    )
    assert f'<a href="/admin/integrations/importsession/{running.pk}/change/">Открыть сессию #{running.pk}</a>' in (
        response.content.decode()
    )
    assert list(ImportSession.objects.all()) == [running]
