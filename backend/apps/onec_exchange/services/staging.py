"""Files 1C sends over HTTP, before they reach the exchange directory: safe names, where
each file goes (the layout the importers read), streamed writes, and safe unpacking of
archives. Pure file work: no models.

1C names a file `import_files/ab/<guid>.jpg`, `goods/goods_1_1_<guid>.xml`, a bare
`goods_1_1_<guid>.xml`, with Windows separators, or with its own temporary directory in
front (`C:\\Users\\...\\Temp\\v8_1A2B\\goods\\...`). Every name becomes a relative path under
the exchange's staging directory, laid out as `commerceml.layout.EXCHANGE_KINDS` reads it: 3.1
kinds in their folders, pictures in `goods/import_files/` beside the goods XML, 2.x files
(`import*.xml`, `offers*.xml`) at the top. Anything that could leave the staging directory
(`..`, an absolute POSIX path, a NUL) is refused.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, message_of
from apps.media.error_details import error_detail
from commerceml.layout import EXCHANGE_KINDS, GOODS_DIRNAME, IMPORT_FILES_DIRNAME, OTHER_31_FOLDERS

logger = logging.getLogger(__name__)

# Where pictures live: beside the goods XML (the image import reads goods/import_files/).
PICTURES_HOME = PurePosixPath(GOODS_DIRNAME)
WRITE_BLOCK_BYTES = 1024 * 1024
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:/")
# A 3.1 part: `goods_1_2_<uuid>.xml`; also a bare `goods.xml`.
_PART = re.compile(r"^(?P<kind>[A-Za-z]+?)(?:_\d+_\d+(?:_[^/]*)?)?\.xml$", re.IGNORECASE)
# Entries smaller than this may be compressed any amount (a short XML of repeated tags).
_RATIO_EXEMPT_BYTES = 1024 * 1024
# What an entry is called while it is unpacked (archive_extract): no name from 1C may end so.
PARTIAL_SUFFIX = ".unpacking"
# A file system's longest name (NAME_MAX, bytes), less the suffix of a partial file; and the
# longest path the exchange's records hold (ExchangeFile.path).
MAX_NAME_BYTES = 255 - len(PARTIAL_SUFFIX)
MAX_PATH_CHARS = 1000


class StagingError(Exception):
    """A file or archive from 1C that cannot be accepted; the message (an apps.i18n Message,
    answered in the site's language) says why and what to do."""


@functools.cache
def _folders() -> dict[str, str]:
    """lower-case name -> the 3.1 folder as the importers spell it."""
    folders = {folder for folder, _ in EXCHANGE_KINDS.values()} | set(OTHER_31_FOLDERS)
    return {folder.lower(): folder for folder in folders}


def staging_layout_path(name: str) -> PurePosixPath:
    """The relative path a file named `name` by 1C takes in staging and in the exchange
    directory; StagingError for a name that would leave it or that no file system holds."""
    path = _layout_path(name)
    too_long = next((part for part in path.parts if len(part.encode("utf-8")) > MAX_NAME_BYTES), None)
    if too_long is not None:
        raise StagingError(Message(
            gettext_noop(
                "file name %(name)s: %(part)s... is longer than %(limit)s bytes, "
                "more than a file system holds: refused; shorten it in 1C"
            ),
            name=repr(name), part=repr(too_long[:40]), limit=MAX_NAME_BYTES,
        ))
    if len(str(path)) > MAX_PATH_CHARS:
        raise StagingError(Message(
            gettext_noop("file name %(name)s is longer than %(limit)s characters: refused; shorten it in 1C"),
            name=repr(name), limit=MAX_PATH_CHARS,
        ))
    if path.name.endswith(PARTIAL_SUFFIX):
        raise StagingError(Message(
            gettext_noop(
                "file name %(name)s ends in %(suffix)s, the name the site gives a file while unpacking it: refused"
            ),
            name=repr(name), suffix=PARTIAL_SUFFIX,
        ))
    return path


def _layout_path(name: str) -> PurePosixPath:
    if not name or "\x00" in name:
        raise StagingError(Message(gettext_noop("file name %(name)s is empty or contains NUL: refused"), name=repr(name)))
    text = name.replace("\\", "/").strip()
    windows = bool(_WINDOWS_DRIVE.match(text))
    if windows:
        text = text[3:]
    if text.startswith("/"):
        raise StagingError(Message(
            gettext_noop("file name %(name)s is an absolute path: 1C sends names relative to its exchange folder"),
            name=repr(name),
        ))
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if not parts or any(part == ".." for part in parts):
        raise StagingError(Message(
            gettext_noop("file name %(name)s leads out of the exchange folder ('..'): refused"), name=repr(name)
        ))
    folders = _folders()
    lowered = [part.lower() for part in parts]
    # Drop a temporary prefix: keep from the last known anchor (import_files, or a 3.1
    # folder that holds the file directly or its import_files).
    if IMPORT_FILES_DIRNAME in lowered:
        index = len(lowered) - 1 - lowered[::-1].index(IMPORT_FILES_DIRNAME)
        return PICTURES_HOME / IMPORT_FILES_DIRNAME / PurePosixPath(*parts[index + 1:]) if index + 1 < len(parts) else _refuse_dir(name)
    if len(parts) >= 2 and lowered[-2] in folders:
        return PurePosixPath(folders[lowered[-2]], parts[-1])
    return _bare_file(parts[-1], folders)


def _refuse_dir(name: str) -> PurePosixPath:
    raise StagingError(Message(gettext_noop("file name %(name)s names a folder, not a file"), name=repr(name)))


def _bare_file(filename: str, folders: dict[str, str]) -> PurePosixPath:
    """A name without a folder: a 3.1 part goes to its kind's folder; 2.x files
    (`import.xml`, `offers.xml`, `import0_1.xml`) and archives stay at the top."""
    match = _PART.match(filename)
    if match and filename.lower() not in ("offers.xml", "import.xml"):
        folder = folders.get(match["kind"].lower())
        if folder:
            return PurePosixPath(folder, filename)
    return PurePosixPath(filename)


def staging_resolve(root: Path, relative: PurePosixPath) -> Path:
    """`root/relative`, refused if it resolves (through a symlink) outside `root`."""
    root = root.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise StagingError(Message(
            gettext_noop("%(path)s resolves outside the staging directory: refused"), path=str(relative)
        ))
    return target


def staging_write(*, target: Path, chunks: Iterable[bytes], replace: bool) -> int:
    """Append (or, with `replace`, write afresh) `chunks` to `target`; returns its size.
    Memory holds one block."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb" if replace else "ab", buffering=0) as out:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[out.write(view):]
        return out.tell()


def staging_starts_with(target: Path, head: bytes) -> bool:
    """True when the staged file begins with `head` (a piece sent again from the start)."""
    try:
        with open(target, "rb") as fh:
            return fh.read(len(head)) == head
    except FileNotFoundError:
        return False


def staging_is_archive(path: Path) -> bool:
    """A zip by name or by its first bytes (1C may call the archive anything)."""
    if path.suffix.lower() == ".zip":
        return True
    if path.suffix.lower() in (".xml", ".jpg", ".jpeg", ".png", ".gif", ".bmp"):
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in ARCHIVE_MAGIC
    except OSError:
        return False


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_bytes: int
    max_ratio: int


@dataclass(frozen=True)
class ArchiveEntry:
    info: zipfile.ZipInfo
    path: PurePosixPath  # where it goes (staging layout)


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as 1C wrote it: UTF-8 when flagged, else UTF-8 or cp866 (zipfile
    decoded such names as cp437)."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp866")


def archive_entries(archive: zipfile.ZipFile, *, name: str, limits: ArchiveLimits) -> list[ArchiveEntry]:
    """The archive's files with their staging paths, after every check that can be made
    before unpacking: entry count, total size, compression ratio, names, symlinks. Entries
    that lay out at one path (`goods/a.xml` and `goods\\a.xml`) are unpacked once: the
    later one, as an unzip would leave it."""
    if any(not info.filename for info in archive.infolist()):
        raise StagingError(Message(
            gettext_noop("archive %(archive)s holds an entry without a name (empty, or starting with NUL): refused"),
            archive=name,
        ))
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > limits.max_entries:
        raise StagingError(Message(
            gettext_noop("archive %(archive)s has %(count)s files, more than ONEC_EXCHANGE_ZIP_MAX_ENTRIES=%(limit)s: refused"),
            archive=name, count=len(infos), limit=limits.max_entries,
        ))
    total = sum(info.file_size for info in infos)
    if total > limits.max_bytes:
        raise StagingError(Message(
            gettext_noop("archive %(archive)s unpacks to %(size)s bytes, more than ONEC_EXCHANGE_ZIP_MAX_BYTES=%(limit)s: refused"),
            archive=name, size=total, limit=limits.max_bytes,
        ))
    compressed = sum(info.compress_size for info in infos)
    if total > _RATIO_EXEMPT_BYTES and total > limits.max_ratio * max(compressed, 1):
        raise StagingError(Message(
            gettext_noop(
                "archive %(archive)s unpacks %(ratio)s times its size (ONEC_EXCHANGE_ZIP_MAX_RATIO=%(limit)s): a zip bomb? refused"
            ),
            archive=name, ratio=total // max(compressed, 1), limit=limits.max_ratio,
        ))
    entries = []
    for info in infos:
        entry_name = _entry_name(info)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise StagingError(Message(
                gettext_noop("archive %(archive)s holds a symbolic link %(entry)s: refused"), archive=name, entry=repr(entry_name)
            ))
        if info.file_size > _RATIO_EXEMPT_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise StagingError(Message(
                gettext_noop(
                    "archive %(archive)s: %(entry)s unpacks %(ratio)s times its size "
                    "(ONEC_EXCHANGE_ZIP_MAX_RATIO=%(limit)s): a zip bomb? refused"
                ),
                archive=name, entry=repr(entry_name), ratio=info.file_size // max(info.compress_size, 1),
                limit=limits.max_ratio,
            ))
        try:
            entries.append(ArchiveEntry(info=info, path=staging_layout_path(entry_name)))
        except StagingError as exc:
            raise StagingError(_in_archive(name, exc)) from None
    _refuse_clashes(entries, name=name)
    by_path = {entry.path: entry for entry in entries}  # the later entry of a path wins
    if len(by_path) < len(entries):
        logger.warning("archive %s: %d entries share a path with a later one; only the later are unpacked",
                       name, len(entries) - len(by_path))
        kept = {id(entry) for entry in by_path.values()}
        entries = [entry for entry in entries if id(entry) in kept]
    return entries


def _in_archive(name: str, exc: StagingError) -> Message:
    """An entry's refusal, naming its archive."""
    return Message(gettext_noop("archive %(archive)s: %(reason)s"), archive=name, reason=message_of(exc))


def _refuse_clashes(entries: list[ArchiveEntry], *, name: str) -> None:
    """StagingError for an entry whose path is another's folder (`a.jpg` and `a.jpg/b.jpg`)."""
    paths = {entry.path for entry in entries}
    for entry in entries:
        folder = next((parent for parent in entry.path.parents if parent in paths), None)
        if folder is not None:
            raise StagingError(Message(
                gettext_noop("archive %(archive)s: %(folder)s is both a file and the folder of %(path)s: refused"),
                archive=name, folder=str(folder), path=str(entry.path),
            ))


@dataclass(frozen=True)
class OpenArchive:
    archive: zipfile.ZipFile
    entries: list[ArchiveEntry]


@contextlib.contextmanager
def archive_checked(path: Path, *, name: str, limits: ArchiveLimits) -> Iterator[OpenArchive]:
    """The archive, open, with its checked entries (archive_entries), for the `with` block.
    StagingError for a damaged or refused archive."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # ValueError: a name flagged UTF-8 that is not
        raise StagingError(Message(
            gettext_noop("archive %(archive)s is incomplete or damaged (%(error)s): 1C should send it again"),
            archive=name, error=error_detail(exc),  # never str(exc): an OSError's names the server's path
        )) from None
    with archive:
        yield OpenArchive(archive=archive, entries=archive_entries(archive, name=name, limits=limits))


# Progress of an archive being unpacked: (entries done, the entry in hand or None, its bytes written).
UnpackProgress = Callable[[int, "ArchiveEntry | None", int], None]


def archive_extract(
    *, archive: zipfile.ZipFile, entries: list[ArchiveEntry], start: int, root: Path, name: str,
    progress: UnpackProgress,
) -> int:
    """Unpack the entries from `start` on into `root`, one after the other, telling
    `progress` after every block; returns the index of the first entry not unpacked (short
    of the end when another process is unpacking that entry). An entry is written to a
    temporary name and renamed, and never beyond its declared size (a lying header is
    refused). While written, an entry's partial file is locked (flock): an unpacker in
    another process (a retried task whose first attempt still runs) sees the entry in
    hand and stops, and a process that died mid-entry leaves an unlocked partial file
    that the next attempt writes afresh."""
    done = start
    for entry in entries[start:]:
        if not _entry_unpack(archive=archive, entry=entry, root=root, name=name,
                             progress=lambda written: progress(done, entry, written)):
            break
        done += 1
        progress(done, None, 0)
    return done


def _partial_path(target: Path) -> Path:
    return target.with_name(target.name + PARTIAL_SUFFIX)


def _entry_unpack(
    *, archive: zipfile.ZipFile, entry: ArchiveEntry, root: Path, name: str, progress: Callable[[int], None]
) -> bool:
    """Unpack one entry to its partial file and rename it into place; False when another
    process is unpacking it."""
    target = staging_resolve(root, entry.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_path(target)
    with _partial_locked(partial) as out:
        if out is None:
            return False
        try:
            with archive.open(entry.info) as unpacked:
                written = 0
                while block := unpacked.read(WRITE_BLOCK_BYTES):
                    written += len(block)
                    if written > entry.info.file_size:
                        raise StagingError(Message(
                            gettext_noop("archive %(archive)s: %(path)s is larger than its header says: refused"),
                            archive=name, path=str(entry.path),
                        ))
                    out.write(block)
                    progress(written)
            out.flush()
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, RuntimeError, NotImplementedError) as exc:
            partial.unlink(missing_ok=True)
            raise StagingError(Message(
                gettext_noop("archive %(archive)s: cannot unpack %(path)s (%(error)s); the archive is damaged: 1C should send it again"),
                archive=name, path=str(entry.path), error=str(exc),
            )) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)  # still locked: no other process starts it afresh meanwhile
    return True


@contextlib.contextmanager
def _partial_locked(partial: Path) -> Iterator[BinaryIO | None]:
    """`partial`, emptied and locked for writing, for the `with` block; None while another
    process holds it."""
    while True:
        out = open(partial, "ab")  # not emptied before the lock is held
        try:
            fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            out.close()
            yield None
            return
        try:
            current = os.stat(partial).st_ino == os.fstat(out.fileno()).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        out.close()  # its unpacker renamed it into place meanwhile: lock the new partial file
    with out:
        out.truncate(0)
        yield out


def staging_move(source: Path, target: Path) -> None:
    """Move a staged file into the exchange directory, replacing what is there (a rename
    on one file system, else a copy then a rename, so no half file is ever visible)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        source.replace(target)
    except OSError:
        partial = target.with_name(target.name + ".incoming")
        shutil.copyfile(source, partial)
        partial.replace(target)
        source.unlink()
