"""The media storage API (apps/media/storage/) on each backend: on S3 it writes what
django-storages reads (same keys under AWS_LOCATION, same object parameters) through one
client for every thread; on a local disk a write is renamed into place."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.storage import FileSystemStorage, storages

from apps.media.exceptions import ImageStorageError, MediaStorageError, MediaStorageUnavailableError
from apps.media.storage import LocalMediaStorage, StoredObject, media_storage
from tests.storage.conftest import use_s3_storage


def test_s3_writes_what_django_storages_reads_under_the_location(s3_media, settings):
    use_s3_storage(settings, s3_media.environ(AWS_LOCATION="shop", AWS_S3_CACHE_CONTROL="max-age=60"))
    media = media_storage()

    etag = media.put("products/ab/x.jpg", b"\xff\xd8\xffphoto", content_type="image/jpeg")

    assert s3_media.keys() == {"shop/products/ab/x.jpg"}
    stored = s3_media.get("shop/products/ab/x.jpg")
    assert (stored["ContentType"], stored["CacheControl"]) == ("image/jpeg", "max-age=60")
    django_storage = storages["default"]
    with django_storage.open("products/ab/x.jpg") as read_back:
        assert read_back.read() == b"\xff\xd8\xffphoto"
    assert media.stat("products/ab/x.jpg") == StoredObject(8, etag)
    with media.open("products/ab/x.jpg") as read_back:
        assert read_back.read() == b"\xff\xd8\xffphoto"
    assert "/shop/products/ab/x.jpg?" in django_storage.url("products/ab/x.jpg")  # signed, as before

    media.delete("products/ab/x.jpg")
    media.delete("products/ab/x.jpg")  # already gone: no error

    assert media.stat("products/ab/x.jpg") is None and s3_media.keys() == set()


def test_s3_one_client_for_every_thread_and_one_request_per_call(s3_media):
    media_storage().put("products/ab/x.jpg", b"photo", content_type="image/jpeg")
    s3_media.taken()
    stores = s3_media.stores

    with ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda _: media_storage().stat("products/ab/x.jpg").size, range(8)))

    assert sizes == [5] * 8
    assert [r.operation for r in s3_media.taken()] == ["HeadObject"] * 8
    assert s3_media.stores == stores and media_storage() is media_storage()


def test_local_put_renames_into_place_with_the_given_mtime(tmp_path, settings):
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    media = media_storage(FileSystemStorage(location=tmp_path))
    assert isinstance(media, LocalMediaStorage) and not media.remote
    (tmp_path / ".incoming").mkdir()
    (tmp_path / ".incoming" / "left-by-a-killed-run.part").write_bytes(b"half")

    media.put("products/ab/x.jpg", b"old", content_type="image/jpeg")
    inode = (tmp_path / "products" / "ab" / "x.jpg").stat().st_ino
    media.put("products/ab/x.jpg", b"new bytes", content_type="image/jpeg", mtime_ns=1_600_000_000_123_456_789)

    stored = tmp_path / "products" / "ab" / "x.jpg"
    assert stored.read_bytes() == b"new bytes" and stored.stat().st_ino != inode  # a new file, renamed over
    assert media.stat("products/ab/x.jpg") == StoredObject(9, "", 1_600_000_000_123_456_789)
    assert stored.stat().st_mode & 0o777 == 0o640
    assert media.clear_incoming() == 1 and os.listdir(tmp_path / ".incoming") == []
    assert media.probe() == f"media folder {tmp_path} (MEDIA_ROOT)"


def test_local_write_error_names_the_file_and_the_reason(tmp_path):
    (tmp_path / "products").write_text("a file where a folder should be")
    media = media_storage(FileSystemStorage(location=tmp_path))

    with pytest.raises(ImageStorageError, match=f"cannot write {tmp_path}/products/ab/x.jpg"):
        media.put("products/ab/x.jpg", b"photo", content_type="image/jpeg")

    assert os.listdir(tmp_path / ".incoming") == []  # its temporary file is gone


def test_s3_settings_the_import_cannot_send_are_refused_by_name(s3_media, settings):
    use_s3_storage(settings, s3_media.environ(AWS_DEFAULT_ACL="public-read"))

    with pytest.raises(MediaStorageError, match=r"cannot set ACL \(AWS_DEFAULT_ACL\).*bucket policy"):
        media_storage()

    assert s3_media.taken() == []


def test_s3_answers_the_health_check_when_its_bucket_is_there(s3_media, settings):
    media_storage().answers(seconds=0.8)
    use_s3_storage(settings, {**s3_media.environ(), "AWS_STORAGE_BUCKET_NAME": "no-such-bucket"})
    with pytest.raises(MediaStorageUnavailableError, match="the bucket does not exist"):
        media_storage().answers(seconds=0.8)
