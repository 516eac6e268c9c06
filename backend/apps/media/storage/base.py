"""The media-storage API every backend implements, and its implementation through the
public API of any Django storage."""
from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.utils.translation import gettext_noop

from apps.i18n.messages import Message

from ..error_details import error_detail
from ..exceptions import ImageStorageError, MediaStorageError, MediaStorageUnavailableError

logger = logging.getLogger(__name__)

# Below the media root: local writes in progress (renamed into place) and probe objects.
INCOMING_DIRNAME = ".incoming"

_PROBE_BYTES = b"1C image import: storage probe, deleted right away\n"


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
    def label(self) -> Message:
        """How messages name the storage: the bucket and endpoint, or the folder."""
        return Message(gettext_noop("media storage %(class)s"), **{"class": type(self.storage).__name__})

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
            raise ImageStorageError(Message(
                gettext_noop("%(storage)s: cannot write %(name)s (%(error)s)"), storage=self.label, name=name,
                error=error_detail(exc),
            )) from exc
        if saved_name != name:
            self.storage.delete(saved_name)
            raise ImageStorageError(Message(
                gettext_noop(
                    "%(storage)s saved %(name)s as %(saved)s, not over it: the storage must overwrite in place "
                    "(django-storages: AWS_S3_FILE_OVERWRITE=True)"
                ),
                storage=self.label, name=name, saved=saved_name,
            ))
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
        """Write, read back and delete a small probe object; return the storage's label (in
        English, for logs).

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
            raise MediaStorageError(Message(
                gettext_noop("%(storage)s: %(problem)s"), storage=self.label, problem=self._problem(cause or exc)
            )) from exc
        if read_back != _PROBE_BYTES:
            raise MediaStorageError(Message(
                gettext_noop("%(storage)s: a probe object read back different bytes than were written"), storage=self.label
            ))
        return str(self.label)

    def answers(self, *, seconds: float) -> None:
        """Raise MediaStorageUnavailableError unless the storage answers one look-up, within
        `seconds` where the backend can bound it (the local disk and S3 do). Writes nothing,
        unlike `probe`: for health checks."""
        try:
            self.storage.exists(f"{INCOMING_DIRNAME}/health-check")
        except Exception as exc:  # noqa: BLE001 - a storage's own errors are what this check reports
            raise MediaStorageUnavailableError(Message(
                gettext_noop("%(storage)s does not answer (%(error)s)"), storage=self.label, error=f"{type(exc).__name__}: {exc}"
            )) from exc

    def _problem(self, exc: BaseException) -> Message:
        """What a failed probe says to fix."""
        if isinstance(exc, OSError):
            return Message(
                gettext_noop("cannot write a probe file (%(error)s): fix the folder's permissions or free space"),
                error=error_detail(exc),
            )
        return Message(
            gettext_noop("a probe object could not be written, read and deleted (%(error)s)"),
            error=f"{type(exc).__name__}: {exc}",
        )
