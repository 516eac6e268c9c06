"""Bad source files and unsafe paths: each is named in the report, the rest still imported."""
import resource
import struct
import zlib

import pytest

from apps.imports.options import ImageImportOptions
from apps.products.models import Product
from apps.imports.services.images_import import product_images_import_chunk
from tests.conftest import make_image_bytes, media_files

pytestmark = pytest.mark.django_db

GUID = "0b000000-0000-0000-0000-00000000000b"


def _png_bomb(width=20000, height=20000) -> bytes:
    """A valid grayscale PNG of width*height pixels (400 MP), a few hundred KB on disk."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (width + 1)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _run(exchange, pictures, **kwargs):
    product = Product.objects.create(onec_id=GUID, onec_picture_paths=pictures)
    result = product_images_import_chunk(
        product_ids=[product.pk], images_dir=exchange.images_dir, options=ImageImportOptions(**kwargs)
    )
    product.refresh_from_db()
    return result, product


def _reasons(result):
    return {error.file.rsplit("_", 1)[-1]: error.reason for error in result.error_details}


@pytest.fixture(scope="module")
def bomb_bytes():
    return _png_bomb()


def test_every_bad_file_is_rejected_with_validation_and_good_ones_imported(exchange, media_root, bomb_bytes):
    whole = make_image_bytes(size=(400, 400))
    pictures = [
        exchange.add_image(GUID, "truncated.jpg", ext="jpg", data=whole[: len(whole) // 3]),
        exchange.add_image(GUID, "empty.jpg", ext="jpg", data=b""),
        exchange.add_image(GUID, "script.jpg", ext="jpg", data=b"<?php system($_GET['c']); ?>"),
        exchange.add_image(GUID, "bomb.png", ext="png", data=bomb_bytes),
        exchange.add_image(GUID, "good.JPG", ext="JPG"),
        exchange.add_image(GUID, "good2.png", ext="png"),
    ]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    result, product = _run(exchange, pictures, validate_images=True)

    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 100 * 1024  # KiB
    reasons = _reasons(result)
    assert "damaged" in reasons["truncated.jpg.jpg"]
    assert "empty (0 bytes)" in reasons["empty.jpg.jpg"]
    assert "not a JPEG or PNG" in reasons["script.jpg.jpg"]
    assert "decompression bomb" in reasons["bomb.png.png"]
    assert result.copied == 2
    assert product.main_image.name.endswith("good.JPG.JPG")
    assert len(product.gallery_images) == 1 and product.gallery_images[0].endswith("good2.png.png")
    assert len(media_files(media_root)) == 2


def test_without_validation_empty_and_non_image_bytes_are_still_refused(exchange, media_root):
    pictures = [
        exchange.add_image(GUID, "empty", data=b""),
        exchange.add_image(GUID, "text", data=b"hello, I am text"),
        exchange.add_image(GUID, "ok"),
    ]
    result, product = _run(exchange, pictures)
    assert result.errors == 2 and result.copied == 1
    assert product.main_image.name.endswith("_ok.jpg") and product.gallery_images == []


@pytest.mark.parametrize(
    "picture",
    ["import_files/../../../../etc/passwd.jpg", "/etc/hostname.jpg", "../goods.xml.jpg", "import_files/0b/../../x.jpg"],
)
def test_paths_out_of_goods_are_never_read_and_reported_as_security_errors(exchange, media_root, picture):
    good = exchange.add_image(GUID, "ok")
    result, product = _run(exchange, [picture, good])
    [error] = result.error_details
    assert error.file == picture and error.reason.startswith("security:")
    assert product.main_image.name.endswith("_ok.jpg")


def test_symlink_out_of_the_data_dir_is_never_copied(exchange, media_root, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(make_image_bytes())
    (exchange.images_dir / "0b").mkdir()
    link = exchange.images_dir / "0b" / f"{GUID}_link.jpg"
    link.symlink_to(secret)

    result, product = _run(exchange, [])  # the folder scan finds the link too

    assert result.errors == 1 and result.error_details[0].reason.startswith("security:")
    assert media_files(media_root) == {}
    assert not product.main_image


def test_missing_file_is_an_error_and_the_product_keeps_its_images(exchange, media_root):
    product = Product.objects.create(onec_id=GUID, main_image="products/0b/old.jpg", gallery_images=["products/0b/g.jpg"])
    product.onec_picture_paths = [f"import_files/0b/{GUID}_gone.jpg"]
    product.save()

    result = product_images_import_chunk(
        product_ids=[product.pk], images_dir=exchange.images_dir, options=ImageImportOptions(mirror=True)
    )

    product.refresh_from_db()
    assert "missing on disk" in result.error_details[0].reason
    assert (product.main_image.name, product.gallery_images) == ("products/0b/old.jpg", ["products/0b/g.jpg"])


def test_offer_ids_inactive_and_imageless_products_are_counted(exchange, media_root):
    offer = Product.objects.create(onec_id=f"{GUID}#c0ffee")
    exchange.add_image(GUID, "scan")
    bare = Product.objects.create(onec_id="0c000000-0000-0000-0000-000000000000")

    result = product_images_import_chunk(product_ids=[offer.pk, bare.pk], images_dir=exchange.images_dir)

    assert (result.processed, result.products_without_images, result.copied) == (2, 1, 1)
    offer.refresh_from_db()
    assert offer.main_image.name.endswith("_scan.jpg")
