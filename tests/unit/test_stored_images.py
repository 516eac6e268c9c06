"""StoredImage rows on the local disk: written with the product's image fields, trusted on
the next run (no stat of the media file), filled by the first run after the upgrade, and
made by the upgrade's migration for pictures products already show."""
import importlib
import os

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from apps.imports.options import ImageImportOptions
from apps.products.models import Product
from apps.media.models import StoredImage
from apps.imports.services.images_import import product_images_import_chunk
from tests.conftest import make_image_bytes, media_files

pytestmark = pytest.mark.django_db

A = "0e000000-0000-0000-0000-00000000000a"
B = "0f000000-0000-0000-0000-00000000000b"


def _media(path):
    return "products/" + path.removeprefix("import_files/")


def _import(exchange, *products, **kwargs):
    return product_images_import_chunk(
        product_ids=[p.pk for p in products], images_dir=exchange.images_dir, options=ImageImportOptions(**kwargs)
    )


def test_rows_record_the_facts_and_which_products_show_them(exchange, media_root):
    shared = exchange.add_image(A, "shared", data=make_image_bytes(size=(30, 20)))
    own = exchange.add_image(A, "own", ext="png", data=make_image_bytes(size=(8, 6), fmt="PNG"))
    a = Product.objects.create(onec_id=A, onec_picture_paths=[own, shared])
    b = Product.objects.create(onec_id=B, onec_picture_paths=[shared])

    _import(exchange, a, b)

    rows = {row.name: row for row in StoredImage.objects.prefetch_related("products")}
    assert set(rows) == {_media(shared), _media(own)}
    source = exchange.goods_dir / shared
    row = rows[_media(shared)]
    assert (row.source_name, row.source_size, row.source_mtime_ns) == (
        shared.removeprefix("import_files/"), source.stat().st_size, source.stat().st_mtime_ns)
    assert (row.width, row.height, row.content_type, row.stored_size) == (30, 20, "image/jpeg", source.stat().st_size)
    assert {p.onec_id for p in row.products.all()} == {A, B}
    assert [p.onec_id for p in rows[_media(own)].products.all()] == [A]
    assert rows[_media(own)].content_type == "image/png"


def test_unchanged_run_trusts_the_rows_without_a_stat_of_media(exchange, media_root, monkeypatch, django_assert_num_queries):
    products = [Product.objects.create(onec_id=f"{n:02x}aa0000-{n}", onec_picture_paths=[
        exchange.add_image(f"{n:02x}aa0000-{n}", f"p{i}") for i in range(2)]) for n in range(5)]
    _import(exchange, *products)
    media_paths = []
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if str(path).startswith(str(media_root)):
            media_paths.append(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    with django_assert_num_queries(2):  # the products, their rows: no write
        result = _import(exchange, *products)

    assert (result.copied, result.skipped, media_paths) == (0, 10, [])


@pytest.mark.parametrize(
    "change", ["main image cleared", "photo touched", "photo replaced, same size", "photo removed", "photo added"]
)
def test_a_chunk_with_anything_to_write_is_not_taken_for_unchanged(exchange, media_root, change):
    """The whole-chunk "unchanged" decision gives way to the full path at any difference,
    and then the chunk does what it did before that decision existed."""
    products = [Product.objects.create(onec_id=f"{n:02x}bb0000-{n}", onec_picture_paths=[
        exchange.add_image(f"{n:02x}bb0000-{n}", f"p{i}") for i in range(2)]) for n in range(3)]
    _import(exchange, *products)
    first = exchange.goods_dir / products[0].onec_picture_paths[0]
    if change == "main image cleared":
        Product.objects.filter(pk=products[0].pk).update(main_image="")
    elif change == "photo touched":
        os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 10**9))
    elif change == "photo replaced, same size":
        data = bytearray(first.read_bytes())
        data[len(data) // 2] ^= 0xFF  # other bytes, same size: found by the hash
        first.write_bytes(bytes(data))
    elif change == "photo removed":
        first.unlink()
    else:
        Product.objects.filter(pk=products[0].pk).update(
            onec_picture_paths=[*products[0].onec_picture_paths, exchange.add_image(products[0].onec_id, "p9")])

    result = _import(exchange, *products)

    expected = {
        "main image cleared": (0, 6, 0, 1, 0), "photo touched": (0, 6, 0, 0, 0), "photo replaced, same size": (1, 5, 0, 0, 0),
        "photo removed": (0, 5, 1, 0, 0), "photo added": (1, 6, 0, 0, 1),
    }[change]
    assert (result.copied, result.skipped, result.errors, result.main_images_set, result.gallery_added) == expected
    products[0].refresh_from_db()
    assert products[0].main_image.name == _media(products[0].onec_picture_paths[0])
    if change == "photo replaced, same size":
        assert (media_root / _media(products[0].onec_picture_paths[0])).read_bytes() == first.read_bytes()
    if change == "photo touched":  # same bytes: only the recorded mtime moves
        assert StoredImage.objects.get(name=_media(str(first.relative_to(exchange.goods_dir)))).source_mtime_ns == (
            first.stat().st_mtime_ns)


@pytest.mark.parametrize("mirror", [False, True])
def test_1c_listing_the_same_photos_in_another_order_reorders_only_a_mirrored_product(exchange, media_root, mirror):
    """Same files, same rows, another order: not "unchanged" for a mirrored product (its
    main image moves), nothing to do for one that only gains photos."""
    a, b, c = (exchange.add_image(A, name) for name in "abc")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[a, b, c])
    _import(exchange, product, mirror=mirror)
    Product.objects.filter(pk=product.pk).update(onec_picture_paths=[c, a, b])

    result = _import(exchange, product, mirror=mirror)

    product.refresh_from_db()
    shown = (product.main_image.name, product.gallery_images)
    if mirror:
        assert shown == (_media(c), [_media(a), _media(b)])
        assert (result.copied, result.skipped, result.main_images_set) == (0, 3, 1)
    else:
        assert shown == (_media(a), [_media(b), _media(c)])
        assert (result.copied, result.skipped, result.main_images_set) == (0, 3, 0)


def test_first_run_after_the_upgrade_keeps_identical_files(exchange, media_root):
    same, changed = exchange.add_image(A, "same"), exchange.add_image(A, "changed")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[same, changed])
    _import(exchange, product)
    StoredImage.objects.update(sha256="", source_size=None, source_mtime_ns=None)  # as the migration leaves them
    inode = (media_root / _media(same)).stat().st_ino
    (exchange.goods_dir / changed).write_bytes(make_image_bytes(size=(50, 50), color=(3, 3, 3)))

    result = _import(exchange, product)

    assert (result.skipped, result.replaced) == (1, 1)
    assert (media_root / _media(same)).stat().st_ino == inode
    assert all(len(sha) == 64 for sha in StoredImage.objects.values_list("sha256", flat=True))


def test_the_upgrade_migration_records_and_links_pictures_already_shown(media_root):
    a = Product.objects.create(onec_id=A, main_image="products/0e/a.jpg", gallery_images=["products/0e/b.jpg"])
    b = Product.objects.create(onec_id=B, main_image="products/0e/b.jpg")
    Product.objects.create(onec_id="10000000-none")
    backfill = importlib.import_module("apps.products.migrations.0004_stored_image_backfill").backfill
    # The products app as it last held StoredImage (its table is the one media.StoredImage uses now).
    historical_apps = MigrationLoader(connection).project_state(("products", "0005_stored_image_renditions")).apps

    backfill(historical_apps, None)
    backfill(historical_apps, None)  # running twice changes nothing

    rows = {row.name: row for row in StoredImage.objects.prefetch_related("products")}
    assert set(rows) == {"products/0e/a.jpg", "products/0e/b.jpg"}
    assert [p.pk for p in rows["products/0e/a.jpg"].products.all()] == [a.pk]
    assert {p.pk for p in rows["products/0e/b.jpg"].products.all()} == {a.pk, b.pk}
    assert all(not row.sha256 for row in rows.values())


def test_a_gallery_change_moves_the_links_in_the_same_transaction(
    exchange, media_root, django_capture_on_commit_callbacks
):
    one, two = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[one, two])
    _import(exchange, product)
    Product.objects.filter(pk=product.pk).update(onec_picture_paths=[two])

    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        _import(exchange, product, mirror=True)

    assert len(after_commit) == 1  # the file is deleted only after the commit
    product.refresh_from_db()
    assert (product.main_image.name, product.gallery_images) == (_media(two), [])
    assert list(product.stored_images.values_list("name", flat=True)) == [_media(two)]
    assert _media(one) not in media_files(media_root)
