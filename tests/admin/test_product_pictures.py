"""A product's pictures where people look: the storefront endpoint, the product list's
thumbnails and the product page's strip of pictures (a browser screenshot of it goes to
test-artifacts/). The photos are imported by the real image import."""
from __future__ import annotations

import pytest
from PIL import Image
from django.contrib.auth.models import User
from django.urls import reverse

from django.template import Context, Template

from apps.products.models import Product
from apps.products.selectors import product_pictures
from apps.imports.services.images_import import product_images_import_chunk
from tests.admin.browser import admin_page, screenshot
from tests.conftest import make_image_bytes

GUID = "0a1b2c3d-0000-0000-0000-000000000001"


def import_product_with_three_photos(exchange, guid: str):
    """A product with three photos in 1C's order (640×480 JPEG, 300×400 PNG, 800×600 JPEG),
    imported into the default storage; returns the product and the chunk's result."""
    pictures = [
        exchange.add_image(guid, "front", data=make_image_bytes(size=(640, 480), color=(200, 40, 40))),
        exchange.add_image(guid, "back", ext="png", data=make_image_bytes(size=(300, 400), color=(40, 200, 40), fmt="PNG")),
        exchange.add_image(guid, "side", data=make_image_bytes(size=(800, 600), color=(40, 40, 200))),
    ]
    product = Product.objects.create(onec_id=guid, name="Мяч футбольный", onec_picture_paths=pictures)
    result = product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir)
    product.refresh_from_db()
    return product, result


@pytest.fixture
def product_with_photos(db, exchange, media_root) -> Product:
    product, result = import_product_with_three_photos(exchange, GUID)
    assert result.copied == 3
    return product


def test_the_storefront_gets_main_first_then_the_gallery_in_1c_order(client, product_with_photos, media_root):
    response = client.get(f"/api/products/{GUID}/images/")

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["product"] == GUID
    assert [(image["role"], image["position"]) for image in body["images"]] == [("main", 0), ("gallery", 0), ("gallery", 1)]
    assert [(image["width"], image["height"]) for image in body["images"]] == [(640, 480), (300, 400), (800, 600)]
    assert [image["url"] for image in body["images"]] == [
        f"/media/products/0a/{GUID}_front.jpg", f"/media/products/0a/{GUID}_back.png", f"/media/products/0a/{GUID}_side.jpg"
    ]
    # WebP first, narrowest first; never wider than the photo (640 px: 800 and 1600 give one).
    assert [[(r["format"], r["width"], r["height"]) for r in image["renditions"]] for image in body["images"]] == [
        [("webp", 320, 240), ("webp", 640, 480), ("jpeg", 640, 480)],
        [("webp", 300, 400), ("jpeg", 300, 400)],
        [("webp", 320, 240), ("webp", 800, 600), ("jpeg", 800, 600)],
    ]
    front = body["images"][0]["renditions"]
    for rendition in front:  # the URLs name the files made
        with Image.open(media_root / rendition["url"].removeprefix("/media/")) as made:
            assert (made.format.lower(), made.size) == (rendition["format"], (rendition["width"], rendition["height"]))


def test_a_template_gets_a_picture_element_with_webp_sources_and_a_jpeg_fallback(product_with_photos):
    html = Template('{% load product_pictures %}{% product_picture product sizes="50vw" alt=product.name %}').render(
        Context({"product": product_with_photos})
    )

    webp = [r for r in product_pictures(product=product_with_photos)[0].renditions if r.format == "webp"]
    jpeg = [r for r in product_pictures(product=product_with_photos)[0].renditions if r.format == "jpeg"]
    assert html == (
        f'<picture><source type="image/webp" srcset="{webp[0].url} 320w, {webp[1].url} 640w" sizes="50vw">'
        f'<img src="{jpeg[0].url}" alt="Мяч футбольный" width="640" height="480" loading="lazy" decoding="async"></picture>'
    )


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

    smallest = product_pictures(product=product_with_photos)[0].renditions[0]
    assert (smallest.format, smallest.width) == ("webp", 320)
    assert f'<img class="product-thumbnail" src="{smallest.url}"' in page


def test_the_product_page_shows_the_pictures_read_only_not_file_names(admin_client_logged_in, product_with_photos):
    page = admin_client_logged_in.get(
        reverse("admin:products_product_change", args=[product_with_photos.pk])
    ).content.decode()

    assert page.count('<li class="product-picture') == 3
    assert page.index(f"{GUID}_front.jpg") < page.index(f"{GUID}_back.png") < page.index(f"{GUID}_side.jpg")
    assert "Основное" in page and "Галерея 1" in page and "Галерея 2" in page
    assert "640 × 480 px" in page and "300 × 400 px" in page
    assert f"<code>0a/{GUID}_back.png</code>" in page  # the source file in the exchange
    assert ">WEBP 320 × 240</a>" in page and ">JPEG 300 × 400</a>" in page  # each picture's renditions
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

    assert widths == [320, 300, 320], "every thumbnail (the smallest rendition) was loaded and decoded"


def add_site_photo(product: Product, filename: str, size=(500, 400)):
    """A photo added on the site and processed (what its Prefect run does)."""
    from apps.products.services import site_photo_add, site_photo_process

    photo = site_photo_add(product_id=product.pk, data=make_image_bytes(size=size, color=(5, 5, 250)), filename=filename)
    return site_photo_process(photo_id=photo.pk)


def test_the_storefront_lists_the_sites_own_photos_after_1cs_marked_by_source(client, product_with_photos):
    chart = add_site_photo(product_with_photos, "size-chart.jpg", size=(500, 400))

    images = client.get(f"/api/products/{GUID}/images/").json()["images"]

    assert [(image["role"], image["position"], image["source"]) for image in images] == [
        ("main", 0, "1c"), ("gallery", 0, "1c"), ("gallery", 1, "1c"), ("gallery", 2, "site"),
    ]
    assert images[3]["url"] == f"/media/{chart.image.name}" and (images[3]["width"], images[3]["height"]) == (500, 400)
    assert [(r["format"], r["width"]) for r in images[3]["renditions"]] == [("webp", 320), ("webp", 500), ("jpeg", 500)]


def test_products_the_site_switched_off_are_not_found(client, product_with_photos):
    Product.objects.filter(pk=product_with_photos.pk).update(on_site=False)

    assert client.get(f"/api/products/{GUID}/images/").status_code == 404


def test_a_template_shows_the_sites_first_photo_while_1c_sends_none(db, media_root):
    product = Product.objects.create(onec_id=GUID, name="Мяч")
    first = add_site_photo(product, "lifestyle.jpg", size=(640, 480))
    add_site_photo(product, "size-chart.jpg")

    html = Template("{% load product_pictures %}{% product_picture product %}").render(Context({"product": product}))

    jpeg = next(r for r in first.image.renditions if r["format"] == "jpeg")
    assert f'<img src="/media/{jpeg["name"]}" alt="" width="640" height="480"' in html
