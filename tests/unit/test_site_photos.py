"""Photos added on the site (apps/products/services.py), on the database and a temporary
MEDIA_ROOT: stored and checked, their order among 1C's, moved and removed, and every
import mode leaving them alone; the site's `on_site` switch beside 1C's `is_active`."""
from __future__ import annotations

import re

from datetime import datetime, timedelta, timezone

import pytest
from django.utils import translation
from PIL import Image

from apps.imports.options import ImageImportOptions
from apps.imports.services.images_import import product_images_import_chunk
from apps.imports.services.record_import import exchange_import_file, exchange_remove_absent
from apps.media.models import StoredImage
from apps.products.exceptions import SitePhotoRefusedError
from apps.products.models import Product, SitePhoto
from apps.products.selectors import product_pictures, products_on_storefront
from apps.products.services import site_photo_add, site_photo_delete, site_photo_move, site_photo_process
from commerceml import writer as cml
from tests.conftest import make_image_bytes, media_files

pytestmark = pytest.mark.django_db

GUID = "5e0a1b2c-0000-0000-0000-000000000001"
OTHER = "5e0a1b2c-0000-0000-0000-000000000002"
RUN_1 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RUN_2 = RUN_1 + timedelta(hours=1)


def add_ready(product: Product, filename: str, *, color=(10, 120, 200), size=(400, 300), fmt="JPEG") -> SitePhoto:
    photo = site_photo_add(product_id=product.pk, data=make_image_bytes(size=size, color=color, fmt=fmt),
                           filename=filename)
    return site_photo_process(photo_id=photo.pk)


def site_photo_state(product: Product) -> list[tuple]:
    """The product's own photos as rows: file, position, status, media name, renditions."""
    return [
        (photo.image.source_name, photo.position, photo.status, photo.image.name, photo.image.renditions)
        for photo in product.site_photos.select_related("image").order_by("position", "id")
    ]


def storefront(product: Product) -> list[tuple[str, str, str]]:
    product.refresh_from_db()
    return [(p.role, p.source, p.source_name) for p in product_pictures(product=product)]


@pytest.fixture
def product(media_root) -> Product:
    return Product.objects.create(onec_id=GUID, name="Мяч")


# --- adding and processing --------------------------------------------------------------------


def test_an_upload_is_stored_and_recorded_as_processing_after_the_sites_other_photos(product, media_root):
    first = site_photo_add(product_id=product.pk, data=make_image_bytes(fmt="PNG"), filename="size-chart.png")
    second = site_photo_add(product_id=product.pk, data=make_image_bytes(), filename="lifestyle.jpg")

    assert [(p.position, p.status) for p in (first, second)] == [(0, "processing"), (1, "processing")]
    assert first.image.name.startswith(f"site-photos/{product.pk}/") and first.image.name.endswith(".png")
    assert (first.image.content_type, first.image.source_name, len(first.image.sha256)) == ("image/png", "size-chart.png", 64)
    assert set(media_files(media_root)) == {first.image.name, second.image.name}
    assert (media_root / second.image.name).read_bytes() == make_image_bytes()
    assert product_pictures(product=product) == [], "processing photos are not on the storefront yet"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "lifestyle.jpg: the file is empty (0 bytes)"),
        (b"<html>not a photo</html>", "lifestyle.jpg: not a JPEG, PNG or WebP image"),
        (make_image_bytes(fmt="GIF"), "lifestyle.jpg: not a JPEG, PNG or WebP image"),
    ],
)
def test_what_its_first_bytes_do_not_call_jpeg_png_or_webp_is_refused_before_it_is_stored(product, media_root, data, reason):
    with translation.override("en"), pytest.raises(SitePhotoRefusedError) as refused:
        site_photo_add(product_id=product.pk, data=data, filename="lifestyle.jpg")

    assert str(refused.value).startswith(reason)
    assert media_files(media_root) == {} and not SitePhoto.objects.exists() and not StoredImage.objects.exists()


def test_processing_decodes_the_photo_and_makes_the_same_renditions_as_1cs(product, media_root):
    photo = add_ready(product, "lifestyle.webp", size=(1000, 750), fmt="WEBP")

    assert (photo.status, photo.refusal_reason) == ("ready", "")
    assert (photo.image.content_type, photo.image.width, photo.image.height) == ("image/webp", 1000, 750)
    assert [(r["format"], r["width"], r["height"]) for r in photo.image.renditions] == [
        ("webp", 320, 240), ("webp", 800, 600), ("webp", 1000, 750), ("jpeg", 800, 600),
    ]
    for rendition in photo.image.renditions:
        with Image.open(media_root / rendition["name"]) as made:
            assert made.size == (rendition["width"], rendition["height"])
    assert site_photo_process(photo_id=photo.pk).status == "ready", "a retried run leaves a processed photo as it is"


def test_processing_refuses_a_damaged_photo_and_one_with_too_many_pixels_saying_why(product, media_root, settings,
                                                                                    in_english):
    damaged = site_photo_add(product_id=product.pk, data=make_image_bytes(size=(300, 200), noise=True)[:400],
                             filename="broken.jpg")
    huge = site_photo_add(product_id=product.pk, data=make_image_bytes(size=(300, 200)), filename="huge.jpg")
    settings.ONEC_IMAGE_MAX_PIXELS = 50_000

    damaged, huge = site_photo_process(photo_id=damaged.pk), site_photo_process(photo_id=huge.pk)

    assert damaged.status == "refused" and damaged.refusal_reason.startswith("broken.jpg: the image data is damaged")
    assert huge.status == "refused" and huge.refusal_reason.startswith(
        "huge.jpg: 300x200 pixels exceeds the limit of 50000 (ONEC_IMAGE_MAX_PIXELS)"
    )
    assert not (media_root / "renditions").exists()
    assert product_pictures(product=product) == []


def test_a_refusal_reads_in_the_site_s_language_of_the_moment(product, media_root):
    """The reason is stored as a message, not as text translated when the run wrote it: the
    admin reads it in the site's language when the page is shown, the file's error included."""
    damaged = site_photo_add(product_id=product.pk, data=make_image_bytes(size=(300, 200), noise=True)[:400],
                             filename="broken.jpg")
    with translation.override("en"):  # the run's language, e.g. a worker started with another setting
        damaged = site_photo_process(photo_id=damaged.pk)

    assert damaged.status == "refused"
    with translation.override("ru"):
        said = SitePhoto.objects.get(pk=damaged.pk).refusal_reason_text
    assert said.startswith("broken.jpg: "), said
    assert "damaged" not in said and re.search("[а-я]{4}", said)
    with translation.override("en"):
        assert SitePhoto.objects.get(pk=damaged.pk).refusal_reason_text.startswith("broken.jpg: the image data is damaged")


# --- the order on the storefront ---------------------------------------------------------------


def import_1c_photos(exchange, product: Product, *names: str, mirror=False) -> None:
    """1C lists these photos for the product; the image import stores them."""
    paths = [exchange.add_image(product.onec_id, name, color=(30 * i, 90, 60)) for i, name in enumerate(names)]
    Product.objects.filter(pk=product.pk).update(onec_picture_paths=paths)
    product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir,
                                options=ImageImportOptions(mirror=mirror))


def test_the_sites_photos_come_after_1cs_and_the_main_image_is_1cs_first(product, exchange):
    import_1c_photos(exchange, product, "front", "back")
    add_ready(product, "lifestyle.jpg")
    add_ready(product, "size-chart.png", fmt="PNG")

    assert storefront(product) == [
        ("main", "1c", f"{GUID[:2]}/{GUID}_front.jpg"),
        ("gallery", "1c", f"{GUID[:2]}/{GUID}_back.jpg"),
        ("gallery", "site", "lifestyle.jpg"),
        ("gallery", "site", "size-chart.png"),
    ]
    assert [p.position for p in product_pictures(product=product)] == [0, 0, 1, 2]


def test_while_1c_sends_no_photo_the_sites_first_is_main_until_1cs_arrive(product, exchange):
    add_ready(product, "lifestyle.jpg")
    add_ready(product, "size-chart.png", fmt="PNG")

    assert storefront(product) == [("main", "site", "lifestyle.jpg"), ("gallery", "site", "size-chart.png")]

    import_1c_photos(exchange, product, "front")

    assert storefront(product) == [
        ("main", "1c", f"{GUID[:2]}/{GUID}_front.jpg"),
        ("gallery", "site", "lifestyle.jpg"),
        ("gallery", "site", "size-chart.png"),
    ]


def test_processing_and_refused_photos_keep_their_place_but_are_not_shown(product, media_root):
    add_ready(product, "a.jpg")
    site_photo_add(product_id=product.pk, data=make_image_bytes(), filename="b.jpg")  # processing
    refused = site_photo_add(product_id=product.pk, data=make_image_bytes()[:300], filename="c.jpg")
    site_photo_process(photo_id=refused.pk)
    add_ready(product, "d.jpg")

    assert storefront(product) == [("main", "site", "a.jpg"), ("gallery", "site", "d.jpg")]
    assert [row[:3] for row in site_photo_state(product)] == [
        ("a.jpg", 0, "ready"), ("b.jpg", 1, "processing"), ("c.jpg", 2, "refused"), ("d.jpg", 3, "ready"),
    ]


def test_moving_a_photo_changes_only_the_sites_order_and_stops_at_either_end(product, exchange):
    import_1c_photos(exchange, product, "front")
    a, b, c = (add_ready(product, name) for name in ("a.jpg", "b.jpg", "c.jpg"))

    site_photo_move(photo_id=c.pk, step=-1)
    assert [row[0] for row in site_photo_state(product)] == ["a.jpg", "c.jpg", "b.jpg"]
    site_photo_move(photo_id=c.pk, step=-1)
    site_photo_move(photo_id=c.pk, step=-1)  # already first
    site_photo_move(photo_id=a.pk, step=1)
    site_photo_move(photo_id=a.pk, step=1)  # already last

    assert [row[:2] for row in site_photo_state(product)] == [("c.jpg", 0), ("b.jpg", 1), ("a.jpg", 2)]
    assert storefront(product) == [
        ("main", "1c", f"{GUID[:2]}/{GUID}_front.jpg"),
        ("gallery", "site", "c.jpg"), ("gallery", "site", "b.jpg"), ("gallery", "site", "a.jpg"),
    ]


def test_removing_a_photo_deletes_its_row_file_and_renditions_and_keeps_the_others_order(
    product, media_root, django_capture_on_commit_callbacks
):
    a, b, c = (add_ready(product, name, color=(i * 70, 10, 10)) for i, name in enumerate(("a.jpg", "b.jpg", "c.jpg")))
    b_files = {b.image.name, *(r["name"] for r in b.image.renditions)}

    with django_capture_on_commit_callbacks(execute=True):
        site_photo_delete(photo_id=b.pk)

    assert [row[0] for row in site_photo_state(product)] == ["a.jpg", "c.jpg"]
    assert not StoredImage.objects.filter(name=b.image.name).exists()
    assert not any((media_root / name).exists() for name in b_files)
    assert all((media_root / r["name"]).exists() for r in a.image.renditions + c.image.renditions)


# --- no import touches them --------------------------------------------------------------------


@pytest.fixture
def product_with_both(product, exchange):
    """Two 1C photos and two of the site's own, the second moved first."""
    import_1c_photos(exchange, product, "front", "back")
    add_ready(product, "lifestyle.jpg")
    chart = add_ready(product, "size-chart.png", fmt="PNG")
    site_photo_move(photo_id=chart.pk, step=-1)
    return product


@pytest.mark.parametrize(
    "options",
    [
        ImageImportOptions(),
        ImageImportOptions(mirror=True),
        ImageImportOptions(verify_storage=True),
        ImageImportOptions(rebuild_renditions=True),
        ImageImportOptions(mirror=True, verify_storage=True, rebuild_renditions=True, validate_images=True),
    ],
    ids=["default", "mirror", "verify-storage", "rebuild-renditions", "all-at-once"],
)
def test_no_image_import_mode_removes_or_reorders_the_sites_photos(
    product_with_both, exchange, media_root, options, django_capture_on_commit_callbacks
):
    product = product_with_both
    before, files_before = site_photo_state(product), media_files(media_root)
    # 1C now lists one new photo instead of its two: mirror mode replaces its own.
    new = exchange.add_image(GUID, "new", color=(250, 250, 0))
    Product.objects.filter(pk=product.pk).update(onec_picture_paths=[new])

    with django_capture_on_commit_callbacks(execute=True):
        product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir, options=options)

    assert site_photo_state(product) == before
    files = media_files(media_root)
    assert all(files[row[3]] == files_before[row[3]] for row in before)
    assert all((media_root / r["name"]).is_file() for row in before for r in row[4])
    assert [entry[1:] for entry in storefront(product)][-2:] == [("site", "size-chart.png"), ("site", "lifestyle.jpg")]
    if options.mirror:
        assert storefront(product)[0] == ("main", "1c", f"{GUID[:2]}/{GUID}_new.jpg")


def test_mirror_removing_1cs_photo_keeps_the_renditions_a_site_photo_of_the_same_bytes_uses(
    product, exchange, media_root, django_capture_on_commit_callbacks
):
    same_bytes = make_image_bytes(size=(500, 400), color=(1, 2, 3))
    Product.objects.filter(pk=product.pk).update(onec_picture_paths=[exchange.add_image(GUID, "front", data=same_bytes)])
    product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir)
    photo = site_photo_process(
        photo_id=site_photo_add(product_id=product.pk, data=same_bytes, filename="same.jpg").pk
    )
    Product.objects.filter(pk=product.pk).update(onec_picture_paths=[exchange.add_image(GUID, "other")])

    with django_capture_on_commit_callbacks(execute=True):
        chunk = product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir,
                                            options=ImageImportOptions(mirror=True))

    assert chunk.removed == 1 and not (media_root / f"products/{GUID[:2]}/{GUID}_front.jpg").exists()
    assert photo.image.renditions and all((media_root / r["name"]).is_file() for r in photo.image.renditions)
    assert storefront(product)[-1] == ("gallery", "site", "same.jpg")


def write_full_goods(exchange, *goods: cml.Goods):
    return cml.write_file(exchange.goods_dir, "goods.xml", cml.CommerceMLWriter().goods(goods, only_changes=False))


def test_a_full_exchange_with_deactivate_leaves_the_sites_photos_and_switch_alone(product_with_both, exchange):
    product = product_with_both
    other = Product.objects.create(onec_id=OTHER, name="Сетка", on_site=False)
    add_ready(other, "net.jpg")
    before, other_before = site_photo_state(product), site_photo_state(other)

    # 1C's full exchange sends only the other product, renamed: the first is gone from 1C.
    exchange_import_file(kind="goods", path=write_full_goods(exchange, cml.Goods(OTHER, "Сетка большая")), sync_mark=RUN_2)
    exchange_remove_absent(kind="goods", sync_mark=RUN_2)

    product.refresh_from_db()
    other.refresh_from_db()
    assert (product.is_active, product.on_site) == (False, True)
    assert (other.is_active, other.on_site, other.name) == (True, False, "Сетка большая"), "no import writes on_site"
    assert site_photo_state(product) == before and site_photo_state(other) == other_before
    assert not products_on_storefront().exists(), "1C's deactivated one stays hidden whatever on_site says"


def test_the_storefront_shows_what_1c_keeps_active_and_the_site_has_on(product):
    other = Product.objects.create(onec_id=OTHER)
    Product.objects.create(onec_id="hidden-by-1c", is_active=False)
    Product.objects.filter(pk=other.pk).update(on_site=False)

    assert list(products_on_storefront().values_list("onec_id", flat=True)) == [GUID]
