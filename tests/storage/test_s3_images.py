"""The image import against a real S3 server (SeaweedFS), real PostgreSQL and real Prefect:
objects and content types, a re-run that makes no request, one PUT for a replaced photo,
--verify-storage, mirror deletions by the rows, the upgrade, and a storage that fails."""
from __future__ import annotations

import hashlib
import os
from collections import Counter

import pytest

from apps.imports.options import ImageImportOptions
from apps.imports.models import ImportChunk
from apps.imports.services.sessions import import_session_create
from apps.media.exceptions import MediaStorageError, MediaStorageUnavailableError
from apps.products.models import Product
from apps.media.models import StoredImage
from apps.imports.services.images_import import product_images_import_chunk
from apps.media.storage import media_storage
from flows.images import import_images
from tests.conftest import make_image_bytes
from tests.storage.conftest import use_s3_storage

# Chunks run in the test's transaction (`_chunk` runs what they leave for the commit); the
# flows' tasks run in threads with connections of their own: those tests are transactional.
pytestmark = pytest.mark.django_db

A = "0a000000-0000-0000-0000-00000000000a"
B = "0b000000-0000-0000-0000-00000000000b"


def _media(path: str) -> str:
    return "products/" + path.removeprefix("import_files/")


def _chunk(exchange, *products, **kwargs):
    """One chunk, and what runs when its transaction commits (mirror's deletions)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        result = product_images_import_chunk(
            product_ids=[p.pk for p in products], images_dir=exchange.images_dir,
            options=ImageImportOptions(**kwargs),
        )
    for product in products:
        product.refresh_from_db()
    return result


def _operations(requests) -> Counter:
    return Counter(request.operation for request in requests)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("prefect_server")
def test_import_uploads_objects_with_content_type_and_records_them(exchange, s3_media):
    jpeg = exchange.add_image(A, "1", data=make_image_bytes(size=(64, 48)))
    png = exchange.add_image(A, "2", ext="png", data=make_image_bytes(size=(20, 10), fmt="PNG"))
    product = Product.objects.create(onec_id=A, onec_picture_paths=[jpeg, png])
    session = import_session_create(import_type="images", started_by="cli")

    state = import_images(session_id=session.pk, data_dir=str(exchange.root), return_state=True)

    session.refresh_from_db()
    product.refresh_from_db()
    assert state.is_completed(), session.error_message
    assert (session.report_details["copied"], session.report_details["errors"]) == (2, 0)
    assert (product.main_image.name, product.gallery_images) == (_media(jpeg), [_media(png)])
    assert s3_media.keys() == {_media(jpeg), _media(png)}  # the probe object is gone
    for path, content_type in ((jpeg, "image/jpeg"), (png, "image/png")):
        stored = s3_media.get(_media(path))
        assert stored["Body"].read() == (exchange.goods_dir / path).read_bytes()
        assert stored["ContentType"] == content_type
        assert stored["CacheControl"] == "public, max-age=86400"
    rows = {row.name: row for row in StoredImage.objects.all()}
    assert set(rows) == {_media(jpeg), _media(png)}
    assert (rows[_media(png)].width, rows[_media(png)].height, rows[_media(png)].content_type) == (20, 10, "image/png")
    assert rows[_media(jpeg)].stored_size == (exchange.goods_dir / jpeg).stat().st_size
    assert rows[_media(jpeg)].source_name == jpeg.removeprefix("import_files/") and len(rows[_media(jpeg)].sha256) == 64
    assert all(list(row.products.all()) == [product] for row in rows.values())
    assert rows[_media(jpeg)].etag == hashlib.md5((exchange.goods_dir / jpeg).read_bytes()).hexdigest()  # from the PUT
    requests = s3_media.taken()
    # a cold import asks nothing first: one PUT per photo, plus check-directory's probe object
    assert _operations(requests) == {"PutObject": 3, "GetObject": 1, "DeleteObjects": 1}
    assert {thread.split("_")[0] for name, thread in s3_media.put_threads.items() if name.startswith("products/")} == {
        "image-upload"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("prefect_server")
def test_nothing_changed_makes_no_storage_request(exchange, s3_media):
    products = [Product.objects.create(onec_id=f"{n:02x}000000-{n}", onec_picture_paths=[
        exchange.add_image(f"{n:02x}000000-{n}", f"p{i}") for i in range(3)]) for n in range(12)]
    _chunk(exchange, *products)
    s3_media.taken()

    result = _chunk(exchange, *products)

    assert (result.copied, result.skipped, result.errors) == (0, 36, 0)
    assert s3_media.taken() == []
    # the whole flow: only the probe object of check-directory
    session = import_session_create(import_type="images", started_by="cli")
    state = import_images(session_id=session.pk, data_dir=str(exchange.root), return_state=True)
    assert state.is_completed()
    requests = s3_media.taken()
    assert {request.key.split("/")[0] for request in requests} == {".incoming"}
    assert _operations(requests) == {"PutObject": 1, "GetObject": 1, "DeleteObjects": 1}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("prefect_server")
def test_a_flow_of_several_chunks_puts_exactly_the_replaced_photos(exchange, s3_media):
    """Nothing changed: the probe's requests only, in every chunk; then two photos replaced
    in different chunks: exactly their PUTs, no GET or DELETE beyond the probe's."""
    products = [Product.objects.create(onec_id=f"{n:02x}c00000-{n}", onec_picture_paths=[
        exchange.add_image(f"{n:02x}c00000-{n}", f"p{i}") for i in range(3)]) for n in range(12)]
    options = ImageImportOptions(chunk_size=4)

    def run_flow() -> dict:
        session = import_session_create(import_type="images", started_by="cli")
        state = import_images(session_id=session.pk, data_dir=str(exchange.root), options=options, return_state=True)
        session.refresh_from_db()
        assert state.is_completed(), session.error_message
        return session.report_details

    cold = run_flow()
    assert (cold["copied"], cold["chunks_total"]) == (36, 3)
    s3_media.taken()

    report = run_flow()
    requests = s3_media.taken()
    assert (report["copied"], report["skipped"]) == (0, 36)
    assert {request.key.split("/")[0] for request in requests} == {".incoming"}
    assert _operations(requests) == {"PutObject": 1, "GetObject": 1, "DeleteObjects": 1}

    replaced = [products[0].onec_picture_paths[1], products[11].onec_picture_paths[2]]
    for path in replaced:
        (exchange.goods_dir / path).write_bytes(make_image_bytes(size=(33, 22), color=(7, 200, 9)))
    report = run_flow()
    requests = s3_media.taken()
    assert (report["copied"], report["replaced"], report["skipped"]) == (2, 2, 34)
    assert sorted(r.key for r in requests if not r.key.startswith(".incoming")) == sorted(map(_media, replaced))
    assert _operations(requests) == {"PutObject": 3, "GetObject": 1, "DeleteObjects": 1}


def test_photo_replaced_in_1c_is_one_put_over_the_old_object(exchange, s3_media):
    one, two = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[one, two])
    _chunk(exchange, product)
    s3_media.taken()
    new_bytes = make_image_bytes(size=(50, 40), color=(1, 250, 3))
    (exchange.goods_dir / one).write_bytes(new_bytes)

    result = _chunk(exchange, product)

    assert (result.copied, result.replaced, result.skipped) == (1, 1, 1)
    requests = s3_media.taken()
    assert [(r.operation, r.key) for r in requests] == [("PutObject", _media(one))]
    assert s3_media.get(_media(one))["Body"].read() == new_bytes
    row = StoredImage.objects.get(name=_media(one))
    assert (row.width, row.height, row.stored_size) == (50, 40, len(new_bytes))


def test_same_size_new_bytes_are_found_by_the_hash_and_uploaded(exchange, s3_media):
    photo = exchange.add_image(A, "1", data=make_image_bytes(size=(40, 40), color=(10, 10, 10)))
    product = Product.objects.create(onec_id=A, onec_picture_paths=[photo])
    _chunk(exchange, product)
    old = (exchange.goods_dir / photo).read_bytes()
    new = old[:-3] + bytes(b ^ 0xFF for b in old[-3:-2]) + old[-2:]  # same length, other bytes
    (exchange.goods_dir / photo).write_bytes(new)
    os.utime(exchange.goods_dir / photo, ns=(1_700_000_000_000_000_000,) * 2)
    s3_media.taken()

    assert _chunk(exchange, product).replaced == 1
    assert _operations(s3_media.taken()) == {"PutObject": 1}
    assert s3_media.get(_media(photo))["Body"].read() == new


def test_verify_storage_restores_an_object_deleted_by_hand(exchange, s3_media):
    one, two = exchange.add_image(A, "1"), exchange.add_image(A, "2")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[one, two])
    _chunk(exchange, product)
    s3_media.client.delete_object(Bucket=s3_media.bucket, Key=_media(two))
    s3_media.taken()

    trusting = _chunk(exchange, product)  # the default trusts the rows
    assert (trusting.copied, trusting.skipped, s3_media.taken()) == (0, 2, [])

    verified = _chunk(exchange, product, verify_storage=True)

    assert (verified.copied, verified.restored, verified.skipped) == (1, 1, 1)
    assert _operations(s3_media.taken()) == {"HeadObject": 2, "PutObject": 1}
    assert s3_media.get(_media(two))["Body"].read() == (exchange.goods_dir / two).read_bytes()


def test_mirror_deletes_an_object_only_when_no_product_shows_it(exchange, s3_media):
    shared, own, dropped = (exchange.add_image(A, name) for name in ("shared", "own", "dropped"))
    a = Product.objects.create(onec_id=A, onec_picture_paths=[own, shared, dropped])
    b = Product.objects.create(onec_id=B, onec_picture_paths=[shared])
    _chunk(exchange, a, b)
    a.onec_picture_paths = [own]
    a.save()
    s3_media.taken()
    stores = s3_media.stores

    result = _chunk(exchange, a, mirror=True)

    assert result.removed == 2
    assert (a.main_image.name, a.gallery_images) == (_media(own), [])
    assert s3_media.keys() == {_media(own), _media(shared)}
    assert [(r.operation, r.key) for r in s3_media.taken()] == [("DeleteObjects", _media(dropped))]
    assert s3_media.stores == stores  # deleted through the uploads' shared client
    assert list(StoredImage.objects.get(name=_media(shared)).products.all()) == [b]
    assert not StoredImage.objects.filter(name=_media(dropped)).exists()


def test_first_run_after_the_upgrade_records_identical_objects_without_uploading(exchange, s3_media):
    same, changed = exchange.add_image(A, "same"), exchange.add_image(A, "changed")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[same, changed])
    _chunk(exchange, product)
    # What the upgrade's migration leaves: rows without facts, linked to the products.
    StoredImage.objects.update(sha256="", source_size=None, source_mtime_ns=None, stored_size=None, etag="")
    (exchange.goods_dir / changed).write_bytes(make_image_bytes(size=(70, 70), color=(0, 0, 200)))
    s3_media.taken()

    result = _chunk(exchange, product)

    assert (result.skipped, result.copied, result.replaced) == (1, 1, 1)
    requests = s3_media.taken()
    assert _operations(requests) == {"HeadObject": 2, "PutObject": 1}
    assert [r.key for r in requests if r.operation == "PutObject"] == [_media(changed)]
    assert all(len(row.sha256) == 64 for row in StoredImage.objects.all())
    assert StoredImage.objects.get(name=_media(same)).etag  # the object's MD5 ETag, as found
    assert _chunk(exchange, product).skipped == 2 and s3_media.taken() == []


def test_throttling_is_retried_by_the_client(exchange, s3_media):
    photo = exchange.add_image(A, "1")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[photo])
    from django.core.files.storage import storages

    storage = storages["default"]
    throttled = []

    def slow_down_once(method, key):
        if method == "PUT" and not throttled:
            throttled.append(key)
            return 503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        return None

    s3_media.recorder.faults.append(slow_down_once)  # the server's answer to the first PUT
    result = product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir, storage=storage)

    assert throttled and result.copied == 1 and result.errors == 0
    assert _operations(s3_media.taken())["PutObject"] == 2  # the 503, then the retry
    assert s3_media.get(_media(photo))["Body"].read() == (exchange.goods_dir / photo).read_bytes()


def test_storage_outage_fails_the_chunk_and_records_nothing(exchange, s3_media, settings):
    photo = exchange.add_image(A, "1")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[photo])
    dead = s3_media.environ(AWS_S3_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="2", AWS_S3_CONNECT_TIMEOUT="1")
    use_s3_storage(settings, dead)

    with pytest.raises(MediaStorageUnavailableError, match="127.0.0.1:9") as raised:
        _chunk(exchange, product)

    assert isinstance(raised.value, OSError)  # the chunk step's transient-fault retries apply
    assert (product.main_image.name, StoredImage.objects.count()) == ("", 0)
    use_s3_storage(settings, s3_media.environ())
    assert _chunk(exchange, product).copied == 1 and product.main_image.name == _media(photo)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"AWS_SECRET_ACCESS_KEY": "wrong"}, ["credentials were refused", "AWS_SECRET_ACCESS_KEY"]),
        ({"AWS_STORAGE_BUCKET_NAME": "no-such-bucket"}, ["'no-such-bucket'", "does not exist", "AWS_STORAGE_BUCKET_NAME"]),
        ({"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}, ["cannot connect", "AWS_S3_ENDPOINT_URL"]),
    ],
    ids=["bad-credentials", "missing-bucket", "no-server"],
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("prefect_server")
def test_unusable_storage_fails_the_run_before_any_product_is_touched(exchange, s3_media, settings, overrides, words):
    photo = exchange.add_image(A, "1")
    product = Product.objects.create(onec_id=A, onec_picture_paths=[photo])
    use_s3_storage(settings, s3_media.environ(**overrides))
    session = import_session_create(import_type="images", started_by="cli")

    state = import_images(session_id=session.pk, data_dir=str(exchange.root), return_state=True)

    session.refresh_from_db()
    product.refresh_from_db()
    assert state.is_failed() and session.status == "failed"
    for word in words:
        assert word in session.error_message
    assert (product.main_image.name, ImportChunk.objects.filter(session=session).count()) == ("", 0)
    assert s3_media.keys() == set()


def test_probe_names_the_bucket_and_endpoint(s3_media):
    assert media_storage().probe() == f"S3 bucket {s3_media.bucket!r} at {s3_media.endpoint_url}"
    assert s3_media.keys() == set()
    with pytest.raises(MediaStorageError):
        from django.core.files.storage import FileSystemStorage

        media_storage(FileSystemStorage(location="/proc/no-such-dir")).probe()
