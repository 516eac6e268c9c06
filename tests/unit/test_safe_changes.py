"""Dry run changes nothing; mirror mode follows 1C's list without losing what a partial
exchange did not re-send, and never deletes a file another product uses."""
import pytest

from apps.imports.options import ImageImportOptions
from apps.products.models import Product
from apps.imports.services.images_import import product_images_import_chunk
from tests.conftest import make_image_bytes, media_files

pytestmark = pytest.mark.django_db  # deletions run after the commit: `_import` runs them (captured on_commit callbacks)

A = "0d000000-0000-0000-0000-00000000000a"
B = "0d000000-0000-0000-0000-00000000000b"


def _import(exchange, *products, **kwargs):
    """One chunk, and what runs when its transaction commits (mirror's file deletions)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        result = product_images_import_chunk(
            product_ids=[p.pk for p in products], images_dir=exchange.images_dir,
            options=ImageImportOptions(**kwargs),
        )
    for product in products:
        product.refresh_from_db()
    return result


def _media(path):
    return "products/" + path.removeprefix("import_files/")


def test_dry_run_reports_and_writes_nothing(exchange, media_root):
    first, second = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[first, second, f"import_files/0d/{A}_x.jpg"])
    _import(exchange, product)
    (exchange.goods_dir / second).write_bytes(make_image_bytes(color=(9, 9, 9)))
    third = exchange.add_image(A, "3")
    product.onec_picture_paths = [first, second, third]
    product.save()
    media_before, pictures_before = media_files(media_root), (product.main_image.name, product.gallery_images)

    result = _import(exchange, product, dry_run=True)

    assert (result.copied, result.replaced, result.skipped, result.gallery_added, result.errors) == (2, 1, 1, 1, 0)
    assert media_files(media_root) == media_before
    assert (product.main_image.name, product.gallery_images) == pictures_before


def test_mirror_follows_1c_order_and_drops_what_1c_no_longer_lists(exchange, media_root):
    one, two, three = (exchange.add_image(A, n) for n in "123")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[one, two, three])
    _import(exchange, product)
    product.onec_picture_paths = [three, one]  # 1C dropped picture 2 and changed the main one
    product.save()

    result = _import(exchange, product, mirror=True)

    assert (product.main_image.name, product.gallery_images) == (_media(three), [_media(one)])
    assert result.removed == 1
    assert _media(two) not in media_files(media_root)


def test_mirror_keeps_images_whose_files_were_not_resent(exchange, media_root):
    one, two = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[one, two])
    _import(exchange, product)
    (exchange.goods_dir / one).unlink()  # a partial exchange: the XML lists it, the file is not there

    _import(exchange, product, mirror=True)

    assert (product.main_image.name, product.gallery_images) == (_media(one), [_media(two)])
    assert _media(one) in media_files(media_root)


def test_mirror_never_deletes_a_file_another_product_shows(exchange, media_root):
    shared, own = exchange.add_image(A, "shared"), exchange.add_image(A, "own")
    a = Product.objects.create(onec_id=A, onec_picture_paths=[own, shared])
    b = Product.objects.create(onec_id=B, onec_picture_paths=[shared])
    _import(exchange, a, b)
    a.onec_picture_paths = [own]
    a.save()

    _import(exchange, a, mirror=True)

    assert a.gallery_images == [] and b.main_image.name == _media(shared)
    assert _media(shared) in media_files(media_root)


def test_default_mode_never_removes(exchange, media_root):
    one, two = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[one, two])
    _import(exchange, product)
    product.onec_picture_paths = [two]
    product.save()

    _import(exchange, product)

    assert (product.main_image.name, product.gallery_images) == (_media(one), [_media(two)])


class _StorageThatCannotDelete:
    """The media storage as it is during an outage, for deletions only."""

    def __init__(self, storage):
        self._storage = storage

    def __getattr__(self, name):
        return getattr(self._storage, name)

    def delete(self, name):
        raise OSError(f"storage unavailable while deleting {name}")


def test_a_deletion_the_storage_refuses_leaves_the_object_and_fails_nothing(exchange, media_root, caplog):
    from django.core.files.storage import storages

    from apps.media.models import StoredImage
    from apps.imports.services.images_import import delete_unused_media

    one, two = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[one, two])
    _import(exchange, product)
    product.onec_picture_paths = [one]
    product.save()
    _import(exchange, product)  # not mirror: picture 2 stays shown
    Product.objects.filter(pk=product.pk).update(gallery_images=[])
    StoredImage.products.through.objects.filter(storedimage__name=_media(two)).delete()

    deleted = delete_unused_media(names={_media(two)}, storage=_StorageThatCannotDelete(storages["default"]))

    assert deleted == [] and _media(two) in media_files(media_root)
    assert not StoredImage.objects.filter(name=_media(two)).exists()
    assert f"медиафайл {_media(two)}, который не показывает ни один товар, не удалён (OSError" in caplog.text
