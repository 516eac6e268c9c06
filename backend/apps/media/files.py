"""How a source image reaches media storage: checked, hashed and written through the
storage adapter's API once per distinct content, with the facts that spare the next run."""
from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import BinaryIO, NamedTuple

from django.conf import settings
from django.utils.translation import gettext_noop
from PIL import Image

from apps.i18n.messages import Message, message_of

from .error_details import error_detail
from .exceptions import ImageImportError, ImageStorageError, InvalidImageError
from .storage import MediaStorage

MEDIA_PREFIX = "products"

_READ_BLOCK = 1 << 20

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A WebP file is a RIFF container (bytes 0-3) of the form WEBP (bytes 8-11).
_RIFF_MAGIC, _WEBP_FORM = b"RIFF", b"WEBP"
WEB_IMAGE_HEAD_BYTES = 12


def web_image_content_type(head: bytes) -> str | None:
    """What a photo's first WEB_IMAGE_HEAD_BYTES say it is: image/jpeg, image/png or
    image/webp; None for anything else (what its name or the browser claims is not asked)."""
    if head.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    if head.startswith(_PNG_MAGIC):
        return "image/png"
    if head.startswith(_RIFF_MAGIC) and head[8:12] == _WEBP_FORM:
        return "image/webp"
    return None


@dataclass(frozen=True)
class SourceImage:
    """A source picture: `relative_name` is its name below the source folder (`XX/<file>`
    for 1C's import_files), one per image.
    `stat` is taken while resolving, so it is not asked for again; None: no such file.
    `path` is a plain string, not a `Path`: one is built for every photo of every run
    (bench/RESULTS.md)."""

    relative_name: str
    path: str
    stat: os.stat_result | None = field(default=None, compare=False, repr=False)

    @property
    def media_name(self) -> str:
        return f"{MEDIA_PREFIX}/{self.relative_name}"


class StoreOutcome(Enum):
    COPIED = "copied"
    REPLACED = "replaced"
    RESTORED = "restored"  # recorded, but missing or of the wrong size in storage: written again
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ImageFacts:
    """A StoredImage row's facts (models.StoredImage): the source as last seen, its content
    hash, the stored object's size/ETag, pixels, content type and web renditions (made for
    `renditions_spec`). `sha256` empty: unknown."""

    source_name: str = ""
    source_size: int | None = None
    source_mtime_ns: int | None = None
    sha256: str = ""
    stored_size: int | None = None
    etag: str = ""
    width: int | None = None
    height: int | None = None
    content_type: str = ""
    renditions_spec: str = ""
    renditions: list[dict] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return bool(self.sha256)

    def describes(self, source_stat: os.stat_result | None) -> bool:
        return source_unchanged(self.sha256, self.source_size, self.source_mtime_ns, source_stat)


class SourceRecord(NamedTuple):
    """The facts of a StoredImage row that decide whether its photo is unchanged (ImageFacts'
    fields of the same names), as a plain tuple: a nothing-changed night builds one for
    every photo, and an ImageFacts costs ten times as much (bench/RESULTS.md, issue #23).
    `renditions` is only read when renditions are configured (else left empty)."""

    sha256: str
    source_size: int | None
    source_mtime_ns: int | None
    renditions_spec: str
    renditions: Sequence[dict] = ()

    def describes(self, source_stat: os.stat_result | None) -> bool:
        return source_unchanged(self.sha256, self.source_size, self.source_mtime_ns, source_stat)


def source_unchanged(
    sha256: str, source_size: int | None, source_mtime_ns: int | None, source_stat: os.stat_result | None
) -> bool:
    """The one "unchanged" rule: the row knows the bytes (a SHA-256), and the source still has
    the size and mtime it recorded, so the photo needs no read and no storage request."""
    return (
        bool(sha256) and source_stat is not None
        and source_size == source_stat.st_size and source_mtime_ns == source_stat.st_mtime_ns
    )


@dataclass(frozen=True)
class StoreResult:
    """What storing one source did; `facts` are new facts to record (None: none changed)."""

    outcome: StoreOutcome
    facts: ImageFacts | None = None


def check_image(source_file: BinaryIO, path: str, *, decode: bool) -> None:
    """Refuse files that are not JPEG/PNG images; with `decode`, decode every pixel.

    The import hands it the bytes it has read once (io.BytesIO), which it then writes. The
    header check is always on, so empty or non-image bytes never become a product's
    picture. Pillow's `verify()` does not check JPEG data, hence the full `load()`.
    """
    head = source_file.read(8)  # a fresh buffer: offset 0
    if not head:
        raise InvalidImageError(Message(gettext_noop("%(path)s: the file is empty (0 bytes)"), path=path))
    if not (head.startswith(_JPEG_MAGIC) or head.startswith(_PNG_MAGIC)):
        raise InvalidImageError(
            Message(gettext_noop("%(path)s: not a JPEG or PNG image (unexpected file content)"), path=path)
        )
    if decode:
        source_file.seek(0)
        decode_image(source_file, path)


def decode_image(source_file: BinaryIO, path: str) -> tuple[int, int]:
    """Decode every pixel (within ONEC_IMAGE_MAX_PIXELS); return the width and height.
    InvalidImageError names `path` and what is wrong."""
    max_pixels = settings.ONEC_IMAGE_MAX_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(source_file) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImageError(Message(
                    gettext_noop(
                        "%(path)s: %(width)sx%(height)s pixels exceeds the limit of %(limit)s "
                        "(ONEC_IMAGE_MAX_PIXELS); refused as a possible decompression bomb"
                    ),
                    path=path, width=width, height=height, limit=max_pixels,
                ))
            image.load()
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidImageError(Message(
            gettext_noop("%(path)s: refused as a possible decompression bomb (%(error)s)"), path=path, error=error_detail(exc)
        )) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(
            Message(gettext_noop("%(path)s: the image data is damaged (%(error)s)"), path=path, error=error_detail(exc))
        ) from exc
    return width, height


def store_image(
    source: SourceImage,
    storage: MediaStorage,
    *,
    recorded: ImageFacts | None = None,
    decode: bool = False,
    dry_run: bool = False,
    verify: bool = False,
) -> StoreResult:
    """Put the source file at its media name unless the same bytes are already there.

    With `recorded` facts (its StoredImage row) an unchanged source (same size and mtime)
    costs one stat of the source and nothing else: no read, no storage request, no stat of
    the media file. A changed size or mtime is hashed: the same bytes only refresh the
    facts; other bytes are written over the stored object in place (one PUT on S3; on a
    local disk a temporary file renamed into place), never deleted first. Without facts
    (a new image, or the first run after the upgrade) the storage is asked once and an
    identical stored object is kept. `verify` also checks the recorded object is there
    with its recorded size and writes it again if not. `dry_run` decides, writes nothing.
    """
    if source.stat is None:
        raise _missing_on_disk(source)
    src_stat = source.stat
    if recorded is not None and recorded.known:
        facts = None
        if not recorded.describes(src_stat):
            data = _read_source(source) if recorded.source_size == src_stat.st_size else None
            if data is None or hashlib.sha256(data).hexdigest() != recorded.sha256:
                return _write(source, storage, StoreOutcome.REPLACED, decode=decode, dry_run=dry_run)
            facts = replace(recorded, source_mtime_ns=src_stat.st_mtime_ns)  # 1C re-sent the same bytes
        if verify and stored_size(storage, source.media_name) != recorded.stored_size:
            return _write(source, storage, StoreOutcome.RESTORED, decode=decode, dry_run=dry_run)
        return StoreResult(StoreOutcome.UNCHANGED, facts)
    if recorded is None and storage.remote:
        # No row at all: never stored by a recording import (the upgrade made rows for every
        # picture shown before it), so one PUT, without asking first.
        return _write(source, storage, StoreOutcome.COPIED, decode=decode, dry_run=dry_run)
    return _adopt_or_write(source, storage, decode=decode, dry_run=dry_run)


def stored_size(storage: MediaStorage, name: str) -> int | None:
    """The stored object's size, None when it is missing (for --verify-storage)."""
    stored = storage.stat(name)
    return None if stored is None else stored.size


def _missing_on_disk(source: SourceImage) -> ImageImportError:
    return ImageImportError(
        Message(gettext_noop("%(path)s: listed by 1C but missing on disk; re-run the 1C exchange"), path=source.path)
    )


def _unreadable(path: str, exc: OSError) -> InvalidImageError:
    return InvalidImageError(
        Message(gettext_noop("%(path)s: cannot be read (%(error)s)"), path=path, error=error_detail(exc))
    )


def _open_source(source: SourceImage) -> int:
    """A file descriptor (os.open: no fstat, which open() makes to refuse folders; the
    source was stat'ed as a regular file when resolved); the caller closes it."""
    try:
        return os.open(source.path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # removed since it was resolved
        raise _missing_on_disk(source) from None
    except OSError as exc:
        raise _unreadable(source.path, exc) from exc


def _adopt_or_write(source: SourceImage, storage: MediaStorage, *, decode: bool, dry_run: bool) -> StoreResult:
    """No facts recorded: keep what the storage already holds if it is the same bytes (same
    size, and same mtime on a local disk, or same MD5 ETag, or same SHA-256), else write it."""
    src_stat = source.stat
    stored = storage.stat(source.media_name)
    if stored is None:
        return _write(source, storage, StoreOutcome.COPIED, decode=decode, dry_run=dry_run)
    if stored.size == src_stat.st_size:
        data = _read_source(source)
        if stored.mtime_ns == src_stat.st_mtime_ns:
            same = True  # a local file this import wrote: it carries its source's mtime
        elif _is_md5_etag(stored.etag):
            same = hashlib.md5(data, usedforsecurity=False).hexdigest() == stored.etag
        else:
            same = _stored_sha256(storage, source.media_name) == hashlib.sha256(data).hexdigest()
        if same:
            return StoreResult(StoreOutcome.UNCHANGED, None if dry_run else _facts(source, data, etag=stored.etag))
    return _write(source, storage, StoreOutcome.REPLACED, decode=decode, dry_run=dry_run)


def _write(
    source: SourceImage, storage: MediaStorage, outcome: StoreOutcome, *, decode: bool, dry_run: bool
) -> StoreResult:
    """Check the source (the header; `decode`: every pixel) and write it under its media
    name in one step readers never see half done; return the new facts. A dry run reads
    only the header (unless `decode`)."""
    if dry_run and not decode:
        check_image(io.BytesIO(_read_source(source, size=WEB_IMAGE_HEAD_BYTES)), source.path, decode=False)
        return StoreResult(outcome, None)
    data = _read_source(source)
    check_image(io.BytesIO(data), source.path, decode=decode)  # shares `data`'s buffer: no copy
    if dry_run:
        return StoreResult(outcome, None)
    facts = _facts(source, data)
    try:
        etag = storage.put(source.media_name, data, content_type=facts.content_type,
                           mtime_ns=source.stat.st_mtime_ns)
    except ImageStorageError as exc:
        raise ImageStorageError(Message(gettext_noop("%(path)s: %(error)s"), path=source.path, error=message_of(exc))) from exc
    return StoreResult(outcome, replace(facts, etag=etag) if etag else facts)


def _read_source(source: SourceImage, *, size: int | None = None) -> bytes:
    """The whole file (or its first `size` bytes), by offset. The first read asks one byte
    more than the size the stat saw, so a file that has not changed since is read in one
    call; only a short read (a file that shrank, or a file system that returns less) reads
    on until the end."""
    fd = _open_source(source)
    try:
        if size is not None:
            return os.pread(fd, size, 0)
        expected = source.stat.st_size
        data = os.pread(fd, expected + 1, 0)
        if len(data) == expected:
            return data
        blocks, offset = [data], len(data)
        while block := os.pread(fd, _READ_BLOCK, offset):
            blocks.append(block)
            offset += len(block)
        return b"".join(blocks)
    except OSError as exc:
        raise _unreadable(source.path, exc) from exc
    finally:
        os.close(fd)


# JPEG frame headers (SOF0-15 but DHT, JPG and DAC): they hold the height and the width.
_JPEG_FRAME_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def pixel_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header alone: a PNG's IHDR, or a JPEG's frame header reached
    segment by segment; None if neither is found where the format puts it. Pillow's
    Image.open parses every JPEG marker in Python: ~0.1 ms a photo, a sixth of a cold local
    import's CPU (bench/RESULTS.md, issue #23)."""
    if data.startswith(_PNG_MAGIC):
        return (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) if data[12:16] == b"IHDR" else None
    offset = 2  # after SOI
    while offset + 9 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker == 0xFF:  # a fill byte before the marker
            offset += 1
        elif marker in _JPEG_FRAME_MARKERS:
            return int.from_bytes(data[offset + 7:offset + 9], "big"), int.from_bytes(data[offset + 5:offset + 7], "big")
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            offset += 2
        else:
            offset += 2 + int.from_bytes(data[offset + 2:offset + 4], "big")
    return None


def _facts(source: SourceImage, data: bytes, *, etag: str = "") -> ImageFacts:
    """What the StoredImage row records about the bytes just written or found stored."""
    content_type = "image/png" if data.startswith(_PNG_MAGIC) else "image/jpeg"
    width, height = pixel_size(data) or _pillow_size(data)
    return ImageFacts(
        source_name=source.relative_name,
        source_size=len(data),
        source_mtime_ns=source.stat.st_mtime_ns,
        sha256=hashlib.sha256(data).hexdigest(),
        stored_size=len(data),
        etag=etag,
        width=width,
        height=height,
        content_type=content_type,
    )


def _pillow_size(data: bytes) -> tuple[int | None, int | None]:
    """Pillow's (width, height) of a header `pixel_size` did not find; (None, None) if it
    cannot tell either."""
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            return image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None, None


def _is_md5_etag(etag: str) -> bool:
    return len(etag) == 32 and all(c in "0123456789abcdef" for c in etag)


def _stored_sha256(storage: MediaStorage, name: str) -> str:
    """The SHA-256 of a stored object, read through."""
    digest = hashlib.sha256()
    with storage.open(name) as stored:
        for block in iter(lambda: stored.read(_READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
