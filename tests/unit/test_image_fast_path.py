"""Image files on a local disk: resolving by lstat per path component (symlinks checked
with realpath only when there is one), the source's stat reused, and the kernel copy into
a temporary file renamed into place."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

from apps.media.exceptions import ImageImportError, UnsafeImagePathError
from apps.imports.services.image_sources import resolve_source_image
from apps.media.files import StoreOutcome, store_image
from apps.media.storage import media_storage
from apps.imports.services.images_import import merge_product_images
from tests.conftest import make_image_bytes


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_resolve_keeps_the_files_stat(tmp_path):
    images_dir = tmp_path / "import_files"
    photo = _write(images_dir / "ab" / "ab1_x.jpg", make_image_bytes())

    source = resolve_source_image("import_files/ab/ab1_x.jpg", images_dir)

    assert source.relative_name == "ab/ab1_x.jpg"
    assert source.stat.st_size == photo.stat().st_size
    assert source.stat.st_mtime_ns == photo.stat().st_mtime_ns


def test_symlinked_folder_inside_import_files_is_followed(tmp_path):
    images_dir = tmp_path / "import_files"
    _write(images_dir / "real" / "ab1_x.jpg", make_image_bytes())
    os.symlink(images_dir / "real", images_dir / "ab")

    source = resolve_source_image("ab/ab1_x.jpg", images_dir)

    assert source.stat is not None and source.stat.st_size > 0


def test_symlinked_folder_leading_outside_is_refused(tmp_path):
    images_dir = tmp_path / "import_files"
    images_dir.mkdir()
    _write(tmp_path / "secrets" / "ab1_x.jpg", make_image_bytes())
    os.symlink(tmp_path / "secrets", images_dir / "ab")

    with pytest.raises(UnsafeImagePathError, match="outside"):
        resolve_source_image("ab/ab1_x.jpg", images_dir)


def test_symlinked_file_leading_outside_is_refused(tmp_path):
    images_dir = tmp_path / "import_files"
    (images_dir / "ab").mkdir(parents=True)
    outside = _write(tmp_path / "elsewhere.jpg", make_image_bytes())
    os.symlink(outside, images_dir / "ab" / "ab1_x.jpg")

    with pytest.raises(UnsafeImagePathError, match="symlink"):
        resolve_source_image("ab/ab1_x.jpg", images_dir)


def test_missing_file_listed_twice_is_one_error(tmp_path):
    images_dir = tmp_path / "import_files"
    (images_dir / "ab").mkdir(parents=True)

    result = merge_product_images(
        onec_id="ab1",
        main_image="",
        gallery_images=[],
        image_paths=["import_files/ab/ab1_gone.jpg", "ab\\ab1_gone.jpg"],
        images_dir=images_dir,
        validate_images=False,
        storage=FileSystemStorage(location=tmp_path / "media"),
    )

    assert [error.reason for error in result.errors] == [
        f"{images_dir / 'ab' / 'ab1_gone.jpg'}: listed by 1C but missing on disk; re-run the 1C exchange"
    ]
    assert result.main_image == ""


def test_a_directory_named_like_a_photo_is_missing_not_copied(tmp_path):
    images_dir = tmp_path / "import_files"
    (images_dir / "ab" / "ab1_x.jpg").mkdir(parents=True)
    source = resolve_source_image("ab/ab1_x.jpg", images_dir)

    with pytest.raises(ImageImportError, match="missing on disk"):
        store_image(source, media_storage(FileSystemStorage(location=tmp_path / "media")))


def test_copy_creates_the_folder_keeps_mtime_and_leaves_no_temporary_file(tmp_path, settings):
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    images_dir = tmp_path / "import_files"
    photo = _write(images_dir / "ab" / "ab1_x.jpg", make_image_bytes(size=(400, 300)))
    os.utime(photo, ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))
    media = tmp_path / "media"

    result = store_image(
        resolve_source_image("ab/ab1_x.jpg", images_dir), media_storage(FileSystemStorage(location=media))
    )

    stored = media / "products" / "ab" / "ab1_x.jpg"
    assert result.outcome is StoreOutcome.COPIED
    assert (result.facts.width, result.facts.height, result.facts.content_type) == (400, 300, "image/jpeg")
    assert result.facts.source_mtime_ns == 1_600_000_000_123_456_789
    assert stored.read_bytes() == photo.read_bytes()
    assert stored.stat().st_mtime_ns == 1_600_000_000_123_456_789
    assert stored.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in stored.parent.iterdir()) == ["ab1_x.jpg"]


def test_changed_photo_replaces_the_stored_one_and_a_second_run_skips_it(tmp_path):
    images_dir = tmp_path / "import_files"
    photo = _write(images_dir / "ab" / "ab1_x.jpg", make_image_bytes(color=(1, 2, 3)))
    storage = media_storage(FileSystemStorage(location=tmp_path / "media"))

    def store():
        return store_image(resolve_source_image("ab/ab1_x.jpg", images_dir), storage).outcome

    assert store() is StoreOutcome.COPIED
    photo.write_bytes(make_image_bytes(size=(64, 48), color=(250, 250, 0)))
    assert store() is StoreOutcome.REPLACED
    assert store() is StoreOutcome.UNCHANGED
    assert (tmp_path / "media" / "products" / "ab" / "ab1_x.jpg").read_bytes() == photo.read_bytes()


def test_recorded_facts_decide_unchanged_without_touching_media(tmp_path, monkeypatch):
    """Same size and mtime as recorded: no read of the source, no stat of the media file."""
    images_dir = tmp_path / "import_files"
    _write(images_dir / "ab" / "ab1_x.jpg", make_image_bytes())
    storage = media_storage(FileSystemStorage(location=tmp_path / "media"))
    facts = store_image(resolve_source_image("ab/ab1_x.jpg", images_dir), storage).facts
    source = resolve_source_image("ab/ab1_x.jpg", images_dir)
    (tmp_path / "media" / "products" / "ab" / "ab1_x.jpg").unlink()  # the rows are trusted
    touched = []
    real_stat, real_open = os.stat, os.open
    monkeypatch.setattr(os, "stat", lambda *a, **k: touched.append(a[0]) or real_stat(*a, **k))
    monkeypatch.setattr(os, "open", lambda *a, **k: touched.append(a[0]) or real_open(*a, **k))

    result = store_image(source, storage, recorded=facts)

    assert (result.outcome, result.facts, touched) == (StoreOutcome.UNCHANGED, None, [])


def test_verify_restores_a_recorded_file_deleted_from_media(tmp_path):
    images_dir = tmp_path / "import_files"
    photo = _write(images_dir / "ab" / "ab1_x.jpg", make_image_bytes())
    storage = media_storage(FileSystemStorage(location=tmp_path / "media"))
    facts = store_image(resolve_source_image("ab/ab1_x.jpg", images_dir), storage).facts
    stored = tmp_path / "media" / "products" / "ab" / "ab1_x.jpg"
    stored.unlink()

    result = store_image(resolve_source_image("ab/ab1_x.jpg", images_dir), storage, recorded=facts, verify=True)

    assert result.outcome is StoreOutcome.RESTORED and stored.read_bytes() == photo.read_bytes()


def test_same_bytes_with_a_new_mtime_only_refresh_the_recorded_mtime(tmp_path):
    images_dir = tmp_path / "import_files"
    photo = _write(images_dir / "ab" / "ab1_x.jpg", make_image_bytes())
    storage = media_storage(FileSystemStorage(location=tmp_path / "media"))
    facts = store_image(resolve_source_image("ab/ab1_x.jpg", images_dir), storage).facts
    os.utime(photo, ns=(1_000_000_000, 1_000_000_000))

    result = store_image(resolve_source_image("ab/ab1_x.jpg", images_dir), storage, recorded=facts)

    assert result.outcome is StoreOutcome.UNCHANGED
    assert result.facts.source_mtime_ns == 1_000_000_000 and result.facts.sha256 == facts.sha256


@pytest.mark.parametrize("fmt, mode, options", [
    ("JPEG", "RGB", {}), ("JPEG", "RGB", {"progressive": True}), ("JPEG", "L", {}), ("JPEG", "CMYK", {}),
    ("JPEG", "RGB", {"exif": b"Exif\x00\x00" + b"\x00" * 64, "comment": b"x" * 300}), ("PNG", "RGBA", {}), ("PNG", "P", {}),
])
def test_pixel_size_from_the_header_agrees_with_pillow(fmt, mode, options):
    """The header reader the import records width and height with: the same as Pillow's."""
    import io

    from PIL import Image

    from apps.media.files import pixel_size

    for size in ((1, 1), (640, 480), (31, 4097)):
        buffer = io.BytesIO()
        Image.new(mode, size).save(buffer, fmt, **options)
        data = buffer.getvalue()
        assert pixel_size(data) == Image.open(io.BytesIO(data)).size == size
    assert pixel_size(b"\xff\xd8\xff\xe0 truncated") is None
