"""The media storage as the import uses it: one small API (put, open, delete, stat, probe,
label) over Django's storage, with one implementation per backend, chosen from
`STORAGES["default"]`: the local disk (writes renamed into place), S3 (`s3.py`: one shared
client) and any other Django storage (through its public API). Django, the admin and the
templates keep using the Django storage itself (URLs, reads). Also the bounded pool uploads
to a remote storage run in."""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

from .exceptions import ImageStorageError, MediaStorageError, MediaStorageUnavailableError

logger = logging.getLogger(__name__)

# Below the media root: local writes in progress (renamed into place) and probe objects.
INCOMING_DIRNAME = ".incoming"

_PROBE_BYTES = b"1C image import: storage probe, deleted right away\n"
_default: tuple[Storage, MediaStorage] | None = None
_default_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True)
class StoredObject:
    """What one look-up tells of a stored object: its size, its ETag without quotes ("" where
    the storage keeps none) and, on a local disk, its modification time."""

    size: int
    etag: str = ""
    mtime_ns: int | None = None


class MediaStorage:
    """Media storage through the public API of any Django storage; the subclasses below are
    the fast paths of the local disk and of S3. `remote`: every look-up is a network
    request, so uploads run in the shared pool and a photo without a row is put without
    asking first."""

    remote = True

    def __init__(self, storage: Storage):
        self.storage = storage

    @property
    def label(self) -> str:
        """How messages name the storage: the bucket and endpoint, or the folder."""
        return f"media storage {type(self.storage).__name__}"

    @property
    def upload_limit_name(self) -> str | None:
        """The Prefect global concurrency limit that caps chunks uploading to this storage at
        once, across every process and host; None: not capped."""
        return None

    def put(self, name: str, data: bytes, *, content_type: str, cache_control: str | None = None,
            mtime_ns: int | None = None) -> str:
        """Write `data` at `name` over whatever is there, in one step no reader sees half
        done; return the new ETag ("" where there is none). `cache_control` replaces the
        storage's Cache-Control; `mtime_ns` is the file's modification time where the
        storage keeps one (the local disk)."""
        upload = ContentFile(data, name=name)
        upload.content_type = content_type  # django-storages sends it as Content-Type
        try:
            saved_name = self.storage.save(name, upload)
        except OSError as exc:
            raise ImageStorageError(f"{self.label}: cannot write {name} ({exc})") from exc
        if saved_name != name:
            self.storage.delete(saved_name)
            raise ImageStorageError(
                f"{self.label} saved {name} as {saved_name}, not over it: the storage must overwrite in place "
                "(django-storages: AWS_S3_FILE_OVERWRITE=True)"
            )
        return ""

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """The stored object at `name`, open for reading."""
        with self.storage.open(name, "rb") as stored:
            yield stored

    def delete(self, name: str) -> None:
        """Delete the object at `name`; one that is already gone is no error."""
        self.storage.delete(name)

    def stat(self, name: str) -> StoredObject | None:
        """The stored object at `name`, None when there is none."""
        if not self.storage.exists(name):
            return None
        return StoredObject(self.storage.size(name))

    def clear_incoming(self) -> int:
        """Remove what an interrupted run left half-written; call when no import runs.
        Returns how many files it removed."""
        return 0

    def probe(self) -> str:
        """Write, read back and delete a small probe object; return the storage's label.

        Raises MediaStorageError naming the storage and what to fix: a missing bucket,
        refused credentials, an unreachable endpoint, a read-only folder. Through the same
        calls as the import's (one PUT, one GET, one DELETE on S3), so it tests what the
        import will do and opens nothing extra."""
        name = f"{INCOMING_DIRNAME}/probe-{uuid.uuid4().hex}.txt"
        try:
            self.put(name, _PROBE_BYTES, content_type="text/plain")
            try:
                with self.open(name) as probe:
                    read_back = probe.read()
            finally:
                self.delete(name)
        except Exception as exc:  # noqa: BLE001 - every way a storage can fail is named by _problem
            cause = exc.__cause__ if isinstance(exc, (MediaStorageUnavailableError, ImageStorageError)) else None
            raise MediaStorageError(f"{self.label}: {self._problem(cause or exc)}") from exc
        if read_back != _PROBE_BYTES:
            raise MediaStorageError(f"{self.label}: a probe object read back different bytes than were written")
        return self.label

    def _problem(self, exc: BaseException) -> str:
        """What a failed probe says to fix."""
        if isinstance(exc, OSError):
            return f"cannot write a probe file ({exc.strerror or exc}): fix the folder's permissions or free space"
        return f"a probe object could not be written, read and deleted ({type(exc).__name__}: {exc})"


class LocalMediaStorage(MediaStorage):
    """A FileSystemStorage: a write goes to a temporary file in `.incoming` (same file
    system) renamed into place, so no reader ever sees a partial file and a killed run
    leaves its fragment in `.incoming`, not among the images. Paths are joined as strings,
    not through `storage.path()` (safe_join per file): every name comes from the import's
    checked parts (no `..`, not absolute)."""

    remote = False

    storage: FileSystemStorage

    @property
    def label(self) -> str:
        return f"media folder {self.storage.location} (MEDIA_ROOT)"

    def put(self, name: str, data: bytes, *, content_type: str, cache_control: str | None = None,
            mtime_ns: int | None = None) -> str:
        dest = f"{self.storage.location}/{name}"
        tmp = f"{self.storage.location}/{INCOMING_DIRNAME}/{uuid.uuid4().hex}.part"
        try:
            _write_new_file(tmp, data, mtime_ns)
            try:
                os.replace(tmp, dest)
            except FileNotFoundError:  # the first file of its folder
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.replace(tmp, dest)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise ImageStorageError(f"cannot write {dest} ({exc.strerror or exc})") from exc
        return ""

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        with open(f"{self.storage.location}/{name}", "rb") as stored:
            yield stored

    def stat(self, name: str) -> StoredObject | None:
        try:
            found = os.stat(f"{self.storage.location}/{name}")
        except (FileNotFoundError, NotADirectoryError):
            return None
        return StoredObject(found.st_size, mtime_ns=found.st_mtime_ns)

    def clear_incoming(self) -> int:
        removed = 0
        folder = Path(self.storage.location) / INCOMING_DIRNAME
        for leftover in folder.glob("*.part") if folder.is_dir() else ():
            leftover.unlink(missing_ok=True)
            removed += 1
        if removed:
            logger.warning("removed %d partial files of an interrupted import from %s", removed, folder)
        return removed


def _write_new_file(dest: str, data: bytes, mtime_ns: int | None) -> None:
    """A new file with media's permissions (its folder made on first use, not asked for once
    per file), holding `data`, modified at `mtime_ns` when given."""
    try:
        fdst = open(dest, "wb", buffering=0)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fdst = open(dest, "wb", buffering=0)
    with fdst:
        os.fchmod(fdst.fileno(), settings.FILE_UPLOAD_PERMISSIONS or 0o644)
        remaining = memoryview(data)
        while remaining:  # an unbuffered write may take only part
            remaining = remaining[fdst.write(remaining):]
        if mtime_ns is not None:
            os.utime(fdst.fileno(), ns=(mtime_ns, mtime_ns))


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
