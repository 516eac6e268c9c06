"""A product's pictures where people look: the storefront endpoint, the product list's
thumbnails and the product page's strip of pictures (a browser screenshot of it goes to
test-artifacts/). The photos are imported by the real image import."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.products.models import Product
from apps.products.services import product_images_import_chunk
from tests.admin.browser import admin_page, screenshot
from tests.conftest import make_image_bytes

GUID = "0a1b2c3d-0000-0000-0000-000000000001"


@pytest.fixture
def product_with_photos(db, exchange, media_root) -> Product:
    """A product with three photos in 1C's order (the second is a PNG), imported."""
    pictures = [
        exchange.add_image(GUID, "front", data=make_image_bytes(size=(640, 480), color=(200, 40, 40))),
        exchange.add_image(GUID, "back", ext="png", data=make_image_bytes(size=(300, 400), color=(40, 200, 40), fmt="PNG")),
        exchange.add_image(GUID, "side", data=make_image_bytes(size=(800, 600), color=(40, 40, 200))),
    ]
    product = Product.objects.create(onec_id=GUID, name="Мяч футбольный", onec_picture_paths=pictures)
    result = product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir)
    assert result.copied == 3
    product.refresh_from_db()
    return product


def test_the_storefront_gets_main_first_then_the_gallery_in_1c_order(client, product_with_photos):
    response = client.get(f"/api/products/{GUID}/images/")

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["product"] == GUID
    assert [(image["role"], image["position"]) for image in body["images"]] == [("main", 0), ("gallery", 0), ("gallery", 1)]
    assert [(image["width"], image["height"]) for image in body["images"]] == [(640, 480), (300, 400), (800, 600)]
    assert [image["url"] for image in body["images"]] == [
        f"/media/products/0a/{GUID}_front.jpg", f"/media/products/0a/{GUID}_back.png", f"/media/products/0a/{GUID}_side.jpg"
    ]
    assert all(image["renditions"] == [] for image in body["images"])


def test_urls_are_absolute_when_media_has_a_base_url(client, product_with_photos, settings):
    settings.MEDIA_URL = "https://cdn.shop.example/media/"

    urls = [image["url"] for image in client.get(f"/api/products/{GUID}/images/").json()["images"]]

    assert urls[0] == f"https://cdn.shop.example/media/products/0a/{GUID}_front.jpg"


def test_inactive_and_unknown_products_are_not_found(client, product_with_photos):
    Product.objects.filter(pk=product_with_photos.pk).update(is_active=False)

    assert client.get(f"/api/products/{GUID}/images/").status_code == 404
    assert client.get("/api/products/no-such-product/images/").status_code == 404
    assert client.post(f"/api/products/{GUID}/images/").status_code == 405


@pytest.fixture
def admin_client_logged_in(client, db):
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    return client


def test_the_product_list_shows_a_thumbnail(admin_client_logged_in, product_with_photos):
    page = admin_client_logged_in.get(reverse("admin:products_product_changelist")).content.decode()

    assert f'<img class="product-thumbnail" src="/media/products/0a/{GUID}_front.jpg"' in page


def test_the_product_page_shows_the_pictures_read_only_not_file_names(admin_client_logged_in, product_with_photos):
    page = admin_client_logged_in.get(
        reverse("admin:products_product_change", args=[product_with_photos.pk])
    ).content.decode()

    assert page.count('<li class="product-picture') == 3
    assert page.index(f"{GUID}_front.jpg") < page.index(f"{GUID}_back.png") < page.index(f"{GUID}_side.jpg")
    assert "Основное" in page and "Галерея 1" in page and "Галерея 2" in page
    assert "640 × 480 px" in page and "300 × 400 px" in page
    assert f"<code>0a/{GUID}_back.png</code>" in page  # the source file in the exchange
    assert 'name="gallery_images"' not in page and 'name="main_image"' not in page


@pytest.mark.browser
def test_a_browser_sees_the_thumbnails(live_server, product_with_photos, settings, monkeypatch):
    """Headless Chromium opens the product page as an admin does; the screenshot is kept."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.ROOT_URLCONF = "tests.admin.media_urls"

    with admin_page(live_server.url) as page:
        page.goto(f"{live_server.url}/admin/products/product/{product_with_photos.pk}/change/")
        page.wait_for_load_state("networkidle")
        widths = page.eval_on_selector_all(".product-picture img", "images => images.map(i => i.naturalWidth)")
        screenshot(page, "admin-product-pictures.png")

    assert widths == [640, 300, 800], "every picture was loaded and decoded by the browser"
