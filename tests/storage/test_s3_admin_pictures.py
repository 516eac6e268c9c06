"""Issue #11's "Done when", in a real browser: photos imported into a real S3 bucket
(SeaweedFS) by the real image import, with their web renditions, are what the admin shows.
Headless Chromium opens the product list and the product page against Django's live
server: every picture's URL is the bucket's (never /media/), signed (the bucket stays
private: django-storages' query-string auth, on by default without AWS_S3_CUSTOM_DOMAIN),
and the browser got the bytes from the bucket and decoded them. The product page's
screenshot goes to test-artifacts/admin-product-pictures-s3.png."""
from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from apps.products.models import Product
from apps.media.models import StoredImage
from tests.admin.browser import admin_page, screenshot
from tests.admin.test_product_pictures import import_product_with_three_photos

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

GUID = "0a1b2c3d-0000-0000-0000-0000000000c3"
# The list's thumbnail and each picture's strip image are the smallest rendition (WebP 320,
# never wider than the photo: the 300 px PNG gives a 300 px one).
RENDITIONS = "webp:320,webp:800,jpeg:800"


@pytest.fixture
def product_in_bucket(exchange, s3_media, settings) -> Product:
    """A product with three photos (the second a PNG), imported into the test's bucket with
    their renditions."""
    settings.ONEC_IMAGE_RENDITIONS = RENDITIONS  # s3_media turns them off
    product, result = import_product_with_three_photos(exchange, GUID)
    assert (result.copied, result.errors) == (3, 0) and result.renditions_created > 0
    stored = {product.main_image.name, *product.gallery_images}
    renditions = {entry["name"] for row in StoredImage.objects.all() for entry in row.renditions}
    assert s3_media.keys() == stored | renditions  # everything the admin will show is in the bucket
    s3_media.taken()
    return product


def _images(page, selector: str) -> list[dict]:
    """Every <img> of `selector` once the browser is done with it: each scrolled into view
    first (they are loading="lazy"), then all complete (loaded, or failed)."""
    for image in page.query_selector_all(selector):
        image.scroll_into_view_if_needed()
    page.wait_for_function(f"[...document.querySelectorAll({selector!r})].every(i => i.complete)")
    page.evaluate("window.scrollTo(0, 0)")
    return page.eval_on_selector_all(selector, """images => images.map(i => ({
        src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))""")


def test_the_admin_shows_the_photos_from_the_bucket(live_server, product_in_bucket, s3_media, exchange, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    bucket_url = f"{s3_media.endpoint_url}/{s3_media.bucket}/"
    from_bucket = []  # (status, url) of every response the browser got from the S3 endpoint

    with admin_page(live_server.url) as page:
        page.on("response", lambda response: response.url.startswith(s3_media.endpoint_url)
                and from_bucket.append((response.status, response.url)))

        page.goto(f"{live_server.url}/admin/products/product/")
        listed = _images(page, "#result_list img.product-thumbnail")
        screenshot(page, "admin-product-list-s3.png")

        page.goto(f"{live_server.url}/admin/products/product/{product_in_bucket.pk}/change/")
        strip = _images(page, ".product-picture img")
        links = page.eval_on_selector_all(".product-pictures a", "links => links.map(a => a.href)")
        screenshot(page, "admin-product-pictures-s3.png")

        # The full-size photo behind each strip image: the bucket's exact bytes and type.
        originals = [page.request.get(url) for url in links if "/products/" in urlsplit(url).path]
        photos = [(response.status, response.headers["content-type"], response.body()) for response in originals]

    images = listed + strip
    assert [image["src"] for image in images if not image["src"].startswith(bucket_url)] == [], "all from the bucket"
    assert all("/media/" not in urlsplit(image["src"]).path for image in images)
    assert all("Signature=" in urlsplit(image["src"]).query for image in images), "signed: the bucket stays private"
    assert all(image["complete"] for image in images)
    # Loaded and decoded in the browser: the list's thumbnail is the main photo's WebP 320
    # rendition; the strip shows each picture's smallest rendition.
    assert [(image["width"], image["height"]) for image in listed] == [(320, 240)]
    assert [(image["width"], image["height"]) for image in strip] == [(320, 240), (300, 400), (320, 240)]
    assert all("/renditions/" in urlsplit(image["src"]).path for image in images)
    assert {url for _, url in from_bucket} >= {image["src"] for image in images}
    assert [status for status, _ in from_bucket if status != 200] == []

    assert all(url.startswith(bucket_url) and "Signature=" in url for url in links)  # photos and renditions
    assert photos == [
        (200, content_type, (exchange.goods_dir / path).read_bytes())
        for path, content_type in zip(product_in_bucket.onec_picture_paths, ("image/jpeg", "image/png", "image/jpeg"))
    ]
    # Without the signature the bucket refuses: it is not public; the signature lets the browser in.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(images[0]["src"].split("?", 1)[0], timeout=10)
    assert refused.value.code == 403
    # Showing the pictures asks the storage nothing: URLs are signed locally, no HEAD, no GET.
    assert s3_media.taken() == []
