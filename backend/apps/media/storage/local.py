"""The local disk's fast path: writes renamed into place."""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import uuid
from pathlib import Path
from typing import BinaryIO, Iterator

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.translation import gettext_noop, ngettext

from apps.i18n.messages import Message

from ..error_details import error_detail
from ..exceptions import ImageStorageError, MediaStorageUnavailableError
from .base import INCOMING_DIRNAME, MediaStorage, StoredObject

logger = logging.getLogger(__name__)


class LocalMediaStorage(MediaStorage):
    """A FileSystemStorage: a write goes to a temporary file in `.incoming` (same file
    system) renamed into place, so no reader ever sees a partial file and a killed run
    leaves its fragment in `.incoming`, not among the images. Paths are joined as strings,
    not through `storage.path()` (safe_join per file): every name comes from the import's
    checked parts (no `..`, not absolute)."""

    remote = False

    storage: FileSystemStorage

    @property
    def label(self) -> Message:
        return Message(gettext_noop("media folder %(path)s (MEDIA_ROOT)"), path=self.storage.location)

    def answers(self, *, seconds: float) -> None:
        """The media folder is a directory this process may write to (a local look-up:
        `seconds` is not needed)."""
        location = self.storage.location
        if not (os.path.isdir(location) and os.access(location, os.W_OK | os.X_OK)):
            raise MediaStorageUnavailableError(Message(
                gettext_noop("%(storage)s is not a directory this process may write to"), storage=self.label
            ))

    def put(self, name: str, data: bytes, *, content_type: str, cache_control: str | None = None,
            mtime_ns: int | None = None) -> str:
        dest = f"{self.storage.location}/{name}"
        tmp = f"{self.storage.location}/{INCOMING_DIRNAME}/{_INCOMING_PREFIX}-{next(_incoming_numbers)}.part"
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
            raise ImageStorageError(Message(
                gettext_noop("cannot write %(path)s (%(error)s)"), path=dest, error=error_detail(exc)
            )) from exc
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
            logger.warning("%s", ngettext(
                "removed %(count)d partial file of an interrupted import from %(folder)s",
                "removed %(count)d partial files of an interrupted import from %(folder)s", removed,
            ) % {"count": removed, "folder": folder})
        return removed


# Names of writes in progress: unique to this process (a random prefix, drawn again in a
# forked child), then numbered; a uuid4 per file was a getrandom call and ~2 us of Python
# for every photo.
_INCOMING_PREFIX = uuid.uuid4().hex
_incoming_numbers = itertools.count()


def _new_incoming_prefix() -> None:
    global _INCOMING_PREFIX
    _INCOMING_PREFIX = uuid.uuid4().hex


os.register_at_fork(after_in_child=_new_incoming_prefix)


def _write_new_file(dest: str, data: bytes, mtime_ns: int | None) -> None:
    """A new file with media's permissions (its folder made on first use, not asked for once
    per file), holding `data`, modified at `mtime_ns` when given. os.open, not open(): no
    fstat and no file object per photo."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(dest, flags, 0o600)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fd = os.open(dest, flags, 0o600)
    try:
        os.fchmod(fd, settings.FILE_UPLOAD_PERMISSIONS or 0o644)
        remaining = memoryview(data)
        while remaining:  # a write may take only part
            remaining = remaining[os.write(fd, remaining):]
        if mtime_ns is not None:
            os.utime(fd, ns=(mtime_ns, mtime_ns))
    finally:
        os.close(fd)
