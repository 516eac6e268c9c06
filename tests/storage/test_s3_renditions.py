"""Renditions against a real S3 server (SeaweedFS): uploaded next to the photos with their
content type and an immutable Cache-Control, no request when nothing changed, the old
renditions deleted when the photo is replaced, and deleted with the photo in mirror mode."""
from __future__ import annotations

from collections import Counter

import pytest

from apps.imports.options import ImageImportOptions
from apps.products.models import Product
from apps.media.models import StoredImage
from apps.imports.services.images_import import product_images_import_chunk
from tests.conftest import make_image_bytes

pytestmark = pytest.mark.django_db  # what runs on commit, `_chunk` runs (captured on_commit callbacks)

A = "0a000000-0000-0000-0000-00000000000a"


@pytest.fixture
def renditions_on(s3_media, settings):
    settings.ONEC_IMAGE_RENDITIONS = "webp:320,webp:800,jpeg:800"
    return s3_media


def _chunk(exchange, product, **options):
    """One chunk, and what runs when its transaction commits (deletions of unused objects)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        result = product_images_import_chunk(
            product_ids=[product.pk], images_dir=exchange.images_dir,
            options=ImageImportOptions(**options),
        )
    product.refresh_from_db()
    return result


def _renditions(product) -> set[str]:
    return {entry["name"] for entry in StoredImage.objects.get(name=product.main_image.name).renditions}


def test_renditions_are_uploaded_immutable_and_a_rerun_asks_nothing(exchange, renditions_on):
    product = Product.objects.create(onec_id=A, onec_picture_paths=[
        exchange.add_image(A, "1", data=make_image_bytes(size=(1000, 750)))])

    result = _chunk(exchange, product)

    names = _renditions(product)
    assert result.renditions_created == 3 and len(names) == 3
    assert renditions_on.keys() == {product.main_image.name, *names}
    for name in names:
        stored = renditions_on.get(name)
        assert stored["ContentType"] == ("image/webp" if name.endswith(".webp") else "image/jpeg")
        assert stored["CacheControl"] == "public, max-age=31536000, immutable"
    assert renditions_on.get(product.main_image.name)["CacheControl"] == "public, max-age=86400"  # the photo's own
    puts = [r for r in renditions_on.taken() if r.operation == "PutObject"]
    assert len(puts) == 4 and {renditions_on.put_threads[r.key].split("_")[0] for r in puts} == {"image-upload"}

    again = _chunk(exchange, product)

    assert (again.renditions_created, again.renditions_skipped) == (0, 3)
    assert renditions_on.taken() == []


def test_a_replaced_photo_puts_new_renditions_and_deletes_the_old(exchange, renditions_on):
    photo = exchange.add_image(A, "1", data=make_image_bytes(size=(640, 480), color=(200, 0, 0)))
    product = Product.objects.create(onec_id=A, onec_picture_paths=[photo])
    _chunk(exchange, product)
    old = _renditions(product)
    renditions_on.taken()

    exchange.add_image(A, "1", data=make_image_bytes(size=(640, 480), color=(0, 0, 200)))
    result = _chunk(exchange, product)

    new = _renditions(product)
    assert result.replaced == 1 and not old & new
    assert renditions_on.keys() == {product.main_image.name, *new}
    operations = Counter((r.operation, r.key.split("/")[0]) for r in renditions_on.taken())
    assert operations == {("PutObject", "products"): 1, ("PutObject", "renditions"): len(new),
                          ("DeleteObjects", "renditions"): len(old)}


def test_mirror_deletes_the_renditions_with_the_photo(exchange, renditions_on):
    first, second = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[first, second])
    _chunk(exchange, product)
    kept = _renditions(product)

    product.onec_picture_paths = [first]
    product.save()
    _chunk(exchange, product, mirror=True)

    assert renditions_on.keys() == {product.main_image.name, *kept}
