"""The media storage as the import uses it: one small API (put, open, delete, stat, probe,
label) over Django's storage, with one implementation per backend, chosen from
`STORAGES["default"]`: the local disk (writes renamed into place), S3 (`s3.py`: one shared
client) and any other Django storage (through its public API). Django, the admin and the
templates keep using the Django storage itself (URLs, reads). Also the bounded pool uploads
to a remote storage run in."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages

from .base import INCOMING_DIRNAME, MediaStorage, StoredObject
from .local import LocalMediaStorage

__all__ = ["INCOMING_DIRNAME", "LocalMediaStorage", "MediaStorage", "StoredObject", "media_storage", "upload_pool"]

_default: tuple[Storage, MediaStorage] | None = None
_default_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def media_storage(storage: Storage | None = None) -> MediaStorage:
    """The media storage API over `storage`, by default `STORAGES["default"]`. The default's
    is made once per configured storage (Django makes a new one after a settings change):
    on S3 its client is shared by every thread of the process."""
    global _default
    default = storages["default"]  # the object itself, not the lazy default_storage
    if storage is not None and storage is not default:
        return _adapter(storage)
    with _default_lock:
        if _default is None or _default[0] is not default:
            _default = (default, _adapter(default))
        return _default[1]


def _adapter(storage: Storage) -> MediaStorage:
    if isinstance(storage, FileSystemStorage):
        return LocalMediaStorage(storage)
    from storages.backends.s3 import S3Storage

    if isinstance(storage, S3Storage):
        from .s3 import S3MediaStorage

        return S3MediaStorage(storage)
    return MediaStorage(storage)


def upload_pool() -> ThreadPoolExecutor:
    """One pool per process, shared by every running chunk, as wide as the S3 client's
    connection pool (ONEC_IMAGE_UPLOAD_WORKERS): the threads live on between chunks. Only
    a remote storage uploads in it; the local disk copies in the chunk's own thread
    (threads beyond the cores only add kernel time there, bench/RESULTS.md)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=settings.ONEC_IMAGE_UPLOAD_WORKERS, thread_name_prefix="image-upload")
        return _pool
