"""Renditions made by the image import (ONEC_IMAGE_RENDITIONS), on real files, the real
database and local media: made once, recorded, remade only when needed, deleted when no
photo uses them, and a photo that cannot be rendered is a per-file error."""
from __future__ import annotations

import io
import os

import pytest
from PIL import Image

import apps.media.renditions as image_renditions
from apps.imports.options import ImageImportOptions
from apps.media.exceptions import ImageSettingsError
from apps.products.models import Product
from apps.media.models import StoredImage
from apps.imports.services.images_import import product_images_import_chunk
from apps.media.rendering import configured_rendition_specs
from tests.conftest import make_image_bytes, rendition_files

pytestmark = pytest.mark.django_db  # deletions run after the commit: `_chunk` runs them (captured on_commit callbacks)

A = "0a000000-0000-0000-0000-00000000000a"
B = "0b000000-0000-0000-0000-00000000000b"


def _chunk(exchange, *products, **options):
    """One chunk, and what runs when its transaction commits (deletions of unused renditions)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        result = product_images_import_chunk(
            product_ids=[p.pk for p in products], images_dir=exchange.images_dir,
            options=ImageImportOptions(**options),
        )
    for product in products:
        product.refresh_from_db()
    return result


def _record(product) -> StoredImage:
    return StoredImage.objects.get(name=product.main_image.name)


@pytest.fixture
def decodes(monkeypatch):
    """How many photos the renditions decoded (every decode goes through renditions_make)."""
    calls = []
    make = image_renditions.renditions_make

    def counted(**kwargs):
        calls.append(kwargs["source"])
        return make(**kwargs)

    monkeypatch.setattr(image_renditions, "renditions_make", counted)
    return calls


def test_every_stored_photo_gets_its_renditions_recorded(exchange, media_root):
    photo = exchange.add_image(A, "1", data=make_image_bytes(size=(1200, 900)))
    product = Product.objects.create(onec_id=A, onec_picture_paths=[photo])

    result = _chunk(exchange, product)

    record = _record(product)
    assert (result.renditions_created, result.renditions_skipped, result.rendition_errors) == (4, 0, 0)
    assert [(r["spec"], r["format"], r["width"], r["height"]) for r in record.renditions] == [
        ("webp:320", "webp", 320, 240), ("webp:800", "webp", 800, 600),
        ("webp:1600", "webp", 1200, 900), ("jpeg:800", "jpeg", 800, 600),  # never upscaled
    ]
    assert record.renditions_spec == "v1:webp:320,webp:800,webp:1600,jpeg:800"
    files = rendition_files(media_root)
    assert set(files) == {r["name"] for r in record.renditions}
    for rendition in record.renditions:
        assert rendition["name"].startswith(f"renditions/{record.sha256[:2]}/{record.sha256}_w")
        with Image.open(io.BytesIO(files[rendition["name"]])) as made:
            assert (made.format.lower(), made.size) == (rendition["format"], (rendition["width"], rendition["height"]))
        assert rendition["size"] == len(files[rendition["name"]])
    assert not list((media_root / ".incoming").glob("*"))  # written by renaming into place


def test_a_rerun_with_nothing_changed_decodes_nothing_and_writes_nothing(exchange, media_root, decodes):
    products = [Product.objects.create(onec_id=guid, onec_picture_paths=[exchange.add_image(guid, "1"),
                                                                          exchange.add_image(guid, "2")])
                for guid in (A, B)]
    _chunk(exchange, *products)
    before = {path: path.stat().st_mtime_ns for path in (media_root / "renditions").rglob("*") if path.is_file()}
    decodes.clear()

    result = _chunk(exchange, *products)

    assert decodes == []
    assert (result.renditions_created, result.renditions_skipped, result.copied, result.skipped) == (0, 8, 0, 4)
    assert {path: path.stat().st_mtime_ns for path in (media_root / "renditions").rglob("*") if path.is_file()} == before


def test_a_photo_replaced_in_1c_gets_new_renditions_and_the_old_ones_go(exchange, media_root):
    photo = exchange.add_image(A, "1", data=make_image_bytes(size=(400, 300), color=(200, 0, 0)))
    product = Product.objects.create(onec_id=A, onec_picture_paths=[photo])
    _chunk(exchange, product)
    old = {r["name"] for r in _record(product).renditions}

    exchange.add_image(A, "1", data=make_image_bytes(size=(400, 300), color=(0, 0, 200)))
    result = _chunk(exchange, product)

    new = {r["name"] for r in _record(product).renditions}
    assert result.replaced == 1 and result.renditions_created == len(new) == 3  # webp 320, webp 400, jpeg 400
    assert not old & new
    assert set(rendition_files(media_root)) == new


def test_renditions_shared_by_two_names_of_the_same_bytes_stay_while_one_uses_them(exchange, media_root):
    same = make_image_bytes(size=(400, 300), color=(10, 120, 10))
    one, two = exchange.add_image(A, "1", data=same), exchange.add_image(B, "1", data=same)
    a = Product.objects.create(onec_id=A, onec_picture_paths=[one])
    b = Product.objects.create(onec_id=B, onec_picture_paths=[two])
    _chunk(exchange, a, b)
    shared = {r["name"] for r in _record(a).renditions}
    assert shared == {r["name"] for r in _record(b).renditions}

    exchange.add_image(A, "1", data=make_image_bytes(size=(400, 300), color=(120, 10, 10)))
    _chunk(exchange, a)

    assert shared <= set(rendition_files(media_root))  # b's photo still uses them


def test_a_changed_spec_makes_only_what_is_missing_and_drops_what_is_no_longer_asked(
    exchange, media_root, settings, decodes
):
    product = Product.objects.create(onec_id=A, onec_picture_paths=[exchange.add_image(A, "1", data=make_image_bytes(
        size=(1000, 500)))])
    _chunk(exchange, product)
    kept = {r["name"] for r in _record(product).renditions if r["spec"] in ("webp:320", "webp:800")}
    decodes.clear()
    settings.ONEC_IMAGE_RENDITIONS = "webp:320,webp:800,webp:200"

    result = _chunk(exchange, product)

    record = _record(product)
    assert len(decodes) == 1 and (result.renditions_created, result.renditions_skipped) == (1, 2)
    assert [(r["spec"], r["width"]) for r in record.renditions] == [("webp:320", 320), ("webp:800", 800), ("webp:200", 200)]
    assert set(rendition_files(media_root)) == kept | {record.renditions[2]["name"]}
    decodes.clear()
    assert _chunk(exchange, product).renditions_created == 0 and decodes == []


def test_rebuild_remakes_every_rendition(exchange, media_root, decodes):
    product = Product.objects.create(onec_id=A, onec_picture_paths=[exchange.add_image(A, "1")])
    _chunk(exchange, product)
    names = {r["name"] for r in _record(product).renditions}
    (media_root / sorted(names)[0]).unlink()  # someone deleted one by hand
    decodes.clear()

    result = _chunk(exchange, product, rebuild_renditions=True)

    assert len(decodes) == 1 and result.renditions_created == len(names) and result.copied == 0
    assert set(rendition_files(media_root)) == names


def test_mirror_deletes_renditions_with_their_photo(exchange, media_root):
    first, second = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[first, second])
    _chunk(exchange, product)
    gone = {r["name"] for r in StoredImage.objects.get(name=product.gallery_images[0]).renditions}
    kept = {r["name"] for r in _record(product).renditions}

    product.onec_picture_paths = [first]
    product.save()
    result = _chunk(exchange, product, mirror=True)

    assert result.removed == 1
    assert set(rendition_files(media_root)) == kept and not gone & kept


def test_a_photo_that_cannot_be_rendered_is_shown_reported_and_tried_again(exchange, media_root, decodes):
    whole = make_image_bytes(size=(600, 400), noise=True)
    broken = exchange.add_image(A, "1", data=whole[: len(whole) // 2])  # a JPEG header, half its data
    good = exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[broken, good])

    result = _chunk(exchange, product)

    assert product.main_image.name.endswith("_1.jpg") and len(product.gallery_images) == 1  # both shown
    assert result.rendition_errors == 1 and result.errors == 1 and result.copied == 2
    (error,) = result.error_details
    assert error.file == broken and "the image data is damaged" in error.reason and "replace the file in 1C" in error.reason
    assert _record(product).renditions == [] and _record(product).renditions_spec == ""
    decodes.clear()
    again = _chunk(exchange, product)
    assert again.rendition_errors == 1 and decodes == [str(exchange.goods_dir / broken)]  # only the broken one


def test_an_exif_rotated_photo_has_upright_renditions(exchange, media_root):
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned by 90 degrees
    buffer = io.BytesIO()
    Image.new("RGB", (600, 400), (200, 30, 30)).save(buffer, "JPEG", exif=exif)
    product = Product.objects.create(onec_id=A, onec_picture_paths=[exchange.add_image(A, "1", data=buffer.getvalue())])

    _chunk(exchange, product)

    assert {(r["width"], r["height"]) for r in _record(product).renditions} == {(320, 480), (400, 600)}


def test_an_empty_setting_turns_renditions_off(exchange, media_root, settings, decodes):
    settings.ONEC_IMAGE_RENDITIONS = ""
    product = Product.objects.create(onec_id=A, onec_picture_paths=[exchange.add_image(A, "1")])

    result = _chunk(exchange, product)

    assert result.copied == 1 and result.renditions_created == 0 and decodes == []
    assert not (media_root / "renditions").exists()


def test_a_dry_run_makes_no_renditions(exchange, media_root, decodes):
    product = Product.objects.create(onec_id=A, onec_picture_paths=[exchange.add_image(A, "1")])

    result = _chunk(exchange, product, dry_run=True)

    assert result.copied == 1 and result.renditions_created == 0 and decodes == []
    assert not (media_root / "renditions").exists()


def test_an_unreadable_setting_names_itself_and_an_example(settings):
    settings.ONEC_IMAGE_RENDITIONS = "webp:320,gif:100"

    with pytest.raises(ImageSettingsError, match=r"ONEC_IMAGE_RENDITIONS: 'gif:100' .*webp:320,webp:800"):
        configured_rendition_specs()


def test_renditions_are_written_with_medias_permissions(exchange, media_root, settings):
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    product = Product.objects.create(onec_id=A, onec_picture_paths=[exchange.add_image(A, "1")])

    _chunk(exchange, product)

    for path in (media_root / "renditions").rglob("*.*"):
        assert os.stat(path).st_mode & 0o777 == 0o640


def test_verify_storage_makes_a_rendition_deleted_by_hand_again(exchange, media_root, decodes):
    product = Product.objects.create(onec_id=A, onec_picture_paths=[exchange.add_image(A, "1")])
    _chunk(exchange, product)
    names = {r["name"] for r in _record(product).renditions}
    (media_root / sorted(names)[0]).unlink()
    decodes.clear()

    trusting = _chunk(exchange, product)
    verified = _chunk(exchange, product, verify_storage=True)

    assert trusting.renditions_created == 0 and len(decodes) == 1  # the default trusts the records
    assert verified.renditions_created == len(names) and verified.copied == 0
    assert set(rendition_files(media_root)) == names
