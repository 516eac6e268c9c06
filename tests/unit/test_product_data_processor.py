"""ProductDataProcessor.import_product_images: the seeds' semantics and ours beyond them."""
import os
import threading

import pytest

from apps.products.models import Product
from apps.imports.services.images_import import ProductDataProcessor
from tests.conftest import make_image_bytes, media_files

pytestmark = pytest.mark.django_db

GUID = "01aa0000-0000-0000-0000-000000000001"


@pytest.fixture
def product():
    return Product.objects.create(onec_id=GUID, name="Гантель")


def _import(product, paths, exchange, **kwargs):
    return ProductDataProcessor().import_product_images(product, paths, str(exchange.images_dir), **kwargs)


def test_first_image_is_main_the_rest_gallery_in_order(product, exchange, media_root):
    paths = [exchange.add_image(GUID, f"f{i}") for i in range(3)]

    result = _import(product, paths, exchange)

    assert result == {"copied": 3, "skipped": 0, "errors": 0}
    product.refresh_from_db()
    assert product.main_image.name == f"products/01/{GUID}_f0.jpg"
    assert product.gallery_images == [f"products/01/{GUID}_f1.jpg", f"products/01/{GUID}_f2.jpg"]
    assert sorted(media_files(media_root)) == sorted(f"products/01/{GUID}_f{i}.jpg" for i in range(3))


def test_path_forms_name_the_same_image_once(product, exchange, media_root):
    path = exchange.add_image(GUID, "one")  # import_files/01/<name>
    short = path.removeprefix("import_files/")

    _import(product, [path, short, short.replace("/", "\\")], exchange)
    result = _import(product, [short], exchange)

    assert result == {"copied": 0, "skipped": 1, "errors": 0}
    product.refresh_from_db()
    assert product.main_image.name == f"products/{short}"
    assert product.gallery_images == []
    assert list(media_files(media_root)) == [f"products/{short}"]


def test_existing_main_image_is_kept_and_gallery_has_no_duplicates(product, exchange, media_root):
    product.main_image.name = "products/manual.jpg"
    product.gallery_images = [f"products/01/{GUID}_b.jpg"]
    product.save()
    paths = [exchange.add_image(GUID, "a"), exchange.add_image(GUID, "b")]

    _import(product, paths, exchange)
    _import(product, paths, exchange)

    product.refresh_from_db()
    assert product.main_image.name == "products/manual.jpg"
    assert product.gallery_images == [f"products/01/{GUID}_b.jpg", f"products/01/{GUID}_a.jpg"]


def test_reimport_of_unchanged_file_copies_nothing(product, exchange, media_root):
    path = exchange.add_image(GUID, "a")
    _import(product, [path], exchange)
    stored = media_root / "products" / path.removeprefix("import_files/")
    inode_before = stored.stat().st_ino

    assert _import(product, [path], exchange) == {"copied": 0, "skipped": 1, "errors": 0}
    assert stored.stat().st_ino == inode_before


def test_same_bytes_with_new_mtime_are_not_rewritten(product, exchange, media_root):
    path = exchange.add_image(GUID, "a")
    _import(product, [path], exchange)
    source = exchange.goods_dir / path
    os.utime(source, ns=(1_000_000_000, 1_000_000_000))  # 1C re-sent the same file
    stored = media_root / "products" / path.removeprefix("import_files/")
    inode_before = stored.stat().st_ino

    assert _import(product, [path], exchange) == {"copied": 0, "skipped": 1, "errors": 0}
    assert stored.stat().st_ino == inode_before


def test_file_replaced_in_1c_is_updated_in_media(product, exchange, media_root):
    path = exchange.add_image(GUID, "a", color=(1, 2, 3))
    _import(product, [path], exchange)
    new_bytes = make_image_bytes(size=(40, 40), color=(250, 250, 0))
    (exchange.goods_dir / path).write_bytes(new_bytes)

    assert _import(product, [path], exchange) == {"copied": 1, "skipped": 0, "errors": 0}
    assert (media_root / "products" / path.removeprefix("import_files/")).read_bytes() == new_bytes
    product.refresh_from_db()
    assert product.main_image.name == "products/" + path.removeprefix("import_files/")


def test_bad_file_is_reported_and_the_others_still_imported(product, exchange, media_root):
    good = exchange.add_image(GUID, "good")
    empty = exchange.add_image(GUID, "empty", data=b"")
    text = exchange.add_image(GUID, "text", data=b"#!/bin/sh\necho not an image\n")
    missing = f"import_files/01/{GUID}_missing.jpg"

    result = _import(product, [empty, text, missing, good], exchange)

    assert result == {"copied": 1, "skipped": 0, "errors": 3}
    product.refresh_from_db()
    assert product.main_image.name == "products/" + good.removeprefix("import_files/")
    assert list(media_files(media_root)) == ["products/" + good.removeprefix("import_files/")]


def test_validation_decodes_the_image_data(product, exchange, media_root):
    whole = make_image_bytes(size=(300, 300))
    truncated = exchange.add_image(GUID, "cut", data=whole[: len(whole) // 2])

    assert _import(product, [truncated], exchange, validate_images=True)["errors"] == 1
    assert media_files(media_root) == {}
    # without validation the JPEG header is enough to be accepted
    assert _import(product, [truncated], exchange)["copied"] == 1


def test_save_touches_only_image_fields(product, exchange, media_root):
    path = exchange.add_image(GUID, "a")
    Product.objects.filter(pk=product.pk).update(name="Renamed meanwhile")  # a concurrent admin edit

    _import(product, [path], exchange)  # `product` still holds the old name in memory

    product.refresh_from_db()
    assert product.name == "Renamed meanwhile"
    assert product.main_image


def test_no_partial_file_is_ever_visible(product, exchange, media_root):
    """Readers polling the media file see either nothing or the whole image."""
    big = make_image_bytes(size=(1500, 1500))
    path = exchange.add_image(GUID, "big", data=big)
    target = media_root / "products" / path.removeprefix("import_files/")
    seen_whole: set[bool] = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                data = target.read_bytes()
                seen_whole.add(data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9"))
            except FileNotFoundError:
                pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for color in range(5):
            (exchange.goods_dir / path).write_bytes(make_image_bytes(size=(1500, 1500), color=(color, 0, 0)))
            _import(product, [path], exchange)
    finally:
        stop.set()
        watcher.join()
    assert seen_whole == {True}
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".part")]
