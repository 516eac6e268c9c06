"""The media storage as a whole: the probe `check-directory` runs before any product is
touched, and the bounded pool uploads to a remote storage run in."""
from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages

from .exceptions import ImageStorageError, MediaStorageError, MediaStorageUnavailableError
from .files import INCOMING_DIRNAME, media_delete, media_open, media_put_bytes, media_storage_label

logger = logging.getLogger(__name__)

_PROBE_BYTES = b"1C image import: storage probe, deleted right away\n"
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def media_storage_probe(*, storage: Storage | None = None) -> str:
    """Write, read back and delete a small probe object; return the storage's label.

    Raises MediaStorageError naming the bucket and endpoint (or folder) and what to fix:
    a missing bucket, refused credentials, an unreachable endpoint, a read-only folder.
    """
    storage = storage or storages["default"]
    label = media_storage_label(storage)
    name = f"{INCOMING_DIRNAME}/probe-{uuid.uuid4().hex}.txt"
    try:
        # Through the same client and calls as the import's (one PUT, one GET, one DELETE
        # on S3), so the probe tests what the import will do and opens nothing extra.
        media_put_bytes(storage, name, _PROBE_BYTES, content_type="text/plain")
        try:
            with media_open(storage, name) as probe:
                read_back = probe.read()
        finally:
            media_delete(storage, name)
    except Exception as exc:  # noqa: BLE001 - every way a storage can fail is named below
        cause = exc.__cause__ if isinstance(exc, (MediaStorageUnavailableError, ImageStorageError)) else None
        raise MediaStorageError(f"{label}: {_probe_problem(cause or exc)}") from exc
    if read_back != _PROBE_BYTES:
        raise MediaStorageError(f"{label}: a probe object read back different bytes than were written")
    return label


def _probe_problem(exc: Exception) -> str:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return "the bucket does not exist: create it, or set AWS_STORAGE_BUCKET_NAME to an existing bucket"
        if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"} or status == 403:
            return (f"the credentials were refused ({code or status}): check AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY, and that they may write to the bucket")
        return f"the storage refused a probe object ({code or status}: {exc})"
    if isinstance(exc, NoCredentialsError):
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot connect ({exc}): check AWS_S3_ENDPOINT_URL and that the server is running"
    if isinstance(exc, OSError):
        return f"cannot write a probe file ({exc.strerror or exc}): fix the folder's permissions or free space"
    return f"a probe object could not be written, read and deleted ({type(exc).__name__}: {exc})"


def media_upload_limit_name(*, storage: Storage | None = None) -> str | None:
    """The Prefect global concurrency limit that caps chunks uploading to this bucket at
    once, across every process and host (`s3-uploads-<bucket>`); None for a local disk.
    Each slot is one chunk uploading with up to ONEC_IMAGE_UPLOAD_WORKERS requests.
    Without the limit created (`prefect gcl create`), uploads are not capped."""
    storage = storage or storages["default"]
    bucket = getattr(storage, "bucket_name", None) if is_remote(storage) else None
    return f"s3-uploads-{bucket}" if bucket else None


def is_remote(storage: Storage) -> bool:
    """Remote storages upload in the pool; the local disk copies in the chunk's own thread
    (threads beyond the cores only add kernel time there, bench/RESULTS.md)."""
    return not isinstance(storage, FileSystemStorage)


def upload_pool() -> ThreadPoolExecutor:
    """One pool per process, shared by every running chunk, as wide as the S3 client's
    connection pool (ONEC_IMAGE_UPLOAD_WORKERS): the threads and their clients live on
    between chunks."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=settings.ONEC_IMAGE_UPLOAD_WORKERS, thread_name_prefix="image-upload")
        return _pool
