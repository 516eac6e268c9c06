"""Photos added on the site against a real S3 server (SeaweedFS): stored through the same
media-storage adapter as 1C's, read back by the processing for their renditions, and
removed with them."""
from __future__ import annotations

import pytest
from django.test import TestCase

from apps.products.models import Product
from apps.products.services import site_photo_add, site_photo_delete, site_photo_process
from tests.conftest import make_image_bytes

pytestmark = pytest.mark.django_db


def test_a_site_photo_goes_to_the_bucket_with_its_renditions_and_leaves_with_them(s3_media, settings):
    settings.ONEC_IMAGE_RENDITIONS = "webp:320,jpeg:800"
    product = Product.objects.create(onec_id="5e000000-0000-0000-0000-0000000000s3")

    photo = site_photo_add(product_id=product.pk, data=make_image_bytes(size=(1000, 750), fmt="PNG"),
                           filename="chart.png")

    assert s3_media.keys() == {photo.image.name}
    assert s3_media.get(photo.image.name)["ContentType"] == "image/png"
    assert photo.image.etag and photo.image.stored_size == s3_media.get(photo.image.name)["ContentLength"]

    photo = site_photo_process(photo_id=photo.pk)

    renditions = {entry["name"] for entry in photo.image.renditions}
    assert photo.status == "ready" and len(renditions) == 2
    assert s3_media.keys() == {photo.image.name, *renditions}
    assert {s3_media.get(name)["CacheControl"] for name in renditions} == {"public, max-age=31536000, immutable"}

    with TestCase.captureOnCommitCallbacks(execute=True):
        site_photo_delete(photo_id=photo.pk)

    assert s3_media.keys() == set()
