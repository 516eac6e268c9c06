"""Source-image rules: where a 1C picture path may point, what counts as an image, and how
it reaches media storage (atomically, once per distinct content)."""
from __future__ import annotations

import contextlib
import filecmp
import hashlib
import io
import logging
import os
import shutil
import stat
import sys
import threading
import uuid
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import BinaryIO, Iterator

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from PIL import Image

from .exceptions import (
    ImageImportError,
    ImageStorageError,
    InvalidImageError,
    MediaStorageUnavailableError,
    UnsafeImagePathError,
)

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
MEDIA_PREFIX = "products"
INCOMING_DIRNAME = ".incoming"
IMPORT_FILES_DIRNAME = "import_files"

# sendfile() between regular files is Linux-only; elsewhere a plain buffered copy.
_KERNEL_COPY = sys.platform.startswith("linux")
_COPY_BLOCK = 1 << 20

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SourceImage:
    """A picture inside import_files: `relative_name` is `XX/<file>`, one per image.
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
        """The one "unchanged" rule: the row knows the bytes, and the source still has the
        size and mtime it recorded, so the photo needs no read and no storage request."""
        return (
            self.known and source_stat is not None
            and self.source_size == source_stat.st_size and self.source_mtime_ns == source_stat.st_mtime_ns
        )


@dataclass(frozen=True)
class StoreResult:
    """What storing one source did; `facts` are new facts to record (None: none changed)."""

    outcome: StoreOutcome
    facts: ImageFacts | None = None


def has_image_extension(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def resolve_source_image(image_path: str, images_dir: Path | str) -> SourceImage:
    """Map any accepted spelling of a picture path to the one file it names.

    `import_files/01/x.jpg`, `01/x.jpg`, `01\\x.jpg` and `01//./x.jpg` are the same image.
    Absolute paths, `..` and symlinks leading out of `images_dir` are refused before
    anything is read.
    """
    raw = image_path.strip().replace("\\", "/")
    if "\x00" in raw:
        raise UnsafeImagePathError(f"security: {image_path!r} contains a NUL character; it was not read")
    if not raw or raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise UnsafeImagePathError(f"security: {image_path!r} is absolute; 1C writes paths relative to goods/, so it was not read")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if parts and parts[0] == IMPORT_FILES_DIRNAME:
        parts = parts[1:]
    if not parts or ".." in parts:
        raise UnsafeImagePathError(f"security: {image_path!r} leaves goods/import_files; it was not read")
    if not has_image_extension(parts[-1]):
        raise InvalidImageError(f"{image_path!r}: not a .jpg, .jpeg or .png file name")
    relative_name = "/".join(parts)
    root = os.fspath(images_dir).rstrip("/") or "/"
    path = f"{root}/{relative_name}"
    try:
        file_stat = _lstat_below(root, parts)
        if file_stat is None:  # a symlink on the way: where does it really lead?
            _refuse_outside(image_path, root, path)
            file_stat = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        file_stat = None
    if file_stat is not None and not stat.S_ISREG(file_stat.st_mode):
        file_stat = None
    return SourceImage(relative_name=relative_name, path=path, stat=file_stat)


def _lstat_below(root: str, parts: list[str]) -> os.stat_result | None:
    """lstat each path component below `root` (2 calls for `XX/<file>`, where realpath()
    walks the whole path); None as soon as one of them is a symlink."""
    current = root
    component_stat = None
    for part in parts:
        current = f"{current}/{part}"
        component_stat = os.lstat(current)
        if stat.S_ISLNK(component_stat.st_mode):
            return None
    return component_stat


def _refuse_outside(image_path: str, images_dir: str, path: str) -> None:
    real_root = os.path.realpath(images_dir)
    real_path = os.path.realpath(path)
    if os.path.commonpath([real_root, real_path]) != real_root:
        raise UnsafeImagePathError(
            f"security: {image_path!r} resolves to {real_path}, outside {real_root} (a symlink?); it was not read"
        )


def check_image(source_file: BinaryIO, path: str, *, decode: bool) -> None:
    """Refuse files that are not JPEG/PNG images; with `decode`, decode every pixel.

    Reads from the already opened source, the same handle the copy then uses, so a photo is
    opened once. The header check is always on, so empty or non-image bytes never become a
    product's picture. Pillow's `verify()` does not check JPEG data, hence the full `load()`.
    """
    try:
        head = source_file.read(8)  # a fresh handle: offset 0; the copy reads by offset
    except OSError as exc:
        raise InvalidImageError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not head:
        raise InvalidImageError(f"{path}: the file is empty (0 bytes)")
    if not (head.startswith(_JPEG_MAGIC) or head.startswith(_PNG_MAGIC)):
        raise InvalidImageError(f"{path}: not a JPEG or PNG image (unexpected file content)")
    if decode:
        source_file.seek(0)
        _decode_image(source_file, path)


def _decode_image(source_file: BinaryIO, path: str) -> None:
    max_pixels = settings.ONEC_IMAGE_MAX_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(source_file) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImageError(
                    f"{path}: {width}x{height} pixels exceeds the limit of {max_pixels} "
                    "(ONEC_IMAGE_MAX_PIXELS); refused as a possible decompression bomb"
                )
            image.load()
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidImageError(f"{path}: refused as a possible decompression bomb ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"{path}: the image data is damaged ({exc})") from exc


def store_image(
    source: SourceImage,
    storage: Storage,
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
        if verify and stored_object_size(storage, source.media_name) != recorded.stored_size:
            return _write(source, storage, StoreOutcome.RESTORED, decode=decode, dry_run=dry_run)
        return StoreResult(StoreOutcome.UNCHANGED, facts)
    if recorded is None and not isinstance(storage, FileSystemStorage):
        # No row at all: never stored by a recording import (the upgrade made rows for every
        # picture shown before it), so one PUT, without asking first.
        return _write(source, storage, StoreOutcome.COPIED, decode=decode, dry_run=dry_run)
    return _adopt_or_write(source, storage, decode=decode, dry_run=dry_run)


def incoming_dir(storage: FileSystemStorage) -> str:
    """Where files are written before being renamed into place (same file system)."""
    return os.path.join(storage.location, INCOMING_DIRNAME)


def media_clear_incoming(storage: Storage | None = None) -> int:
    """Remove what an interrupted run left half-written; call when no import runs."""
    storage = storage or default_storage
    if not isinstance(storage, FileSystemStorage):
        return 0
    removed = 0
    folder = Path(incoming_dir(storage))
    for leftover in folder.glob("*.part") if folder.is_dir() else ():
        leftover.unlink(missing_ok=True)
        removed += 1
    if removed:
        logger.warning("removed %d partial files of an interrupted import from %s", removed, folder)
    return removed


def _missing_on_disk(source: SourceImage) -> ImageImportError:
    return ImageImportError(f"{source.path}: listed by 1C but missing on disk; re-run the 1C exchange")


def _open_source(source: SourceImage) -> BinaryIO:
    """Unbuffered: the copy goes fd to fd (sendfile), so a buffer would only add the tty
    check and seek Python makes when opening a buffered file."""
    try:
        return open(source.path, "rb", buffering=0)
    except FileNotFoundError:  # removed since it was resolved
        raise _missing_on_disk(source) from None
    except OSError as exc:
        raise InvalidImageError(f"{source.path}: cannot be read ({exc.strerror})") from exc


def _adopt_or_write(source: SourceImage, storage: Storage, *, decode: bool, dry_run: bool) -> StoreResult:
    """No facts recorded: keep what the storage already holds if it is the same bytes (on
    a local disk same size and mtime, or same bytes; elsewhere same size and MD5 ETag, or
    same SHA-256), else write it."""
    src_stat = source.stat
    if isinstance(storage, FileSystemStorage):
        dest = _filesystem_path(storage, source)
        try:
            dest_stat = os.stat(dest)
        except (FileNotFoundError, NotADirectoryError):
            dest_stat = None
        if dest_stat is None:
            return _write(source, storage, StoreOutcome.COPIED, decode=decode, dry_run=dry_run)
        if dest_stat.st_size == src_stat.st_size:
            if dest_stat.st_mtime_ns == src_stat.st_mtime_ns or filecmp.cmp(source.path, dest, shallow=False):
                if not dry_run and dest_stat.st_mtime_ns != src_stat.st_mtime_ns:
                    os.utime(dest, ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))
                return StoreResult(StoreOutcome.UNCHANGED, None if dry_run else _facts(source, _read_source(source)))
        return _write(source, storage, StoreOutcome.REPLACED, decode=decode, dry_run=dry_run)
    stored = _stored_object(storage, source.media_name)
    if stored is None:
        return _write(source, storage, StoreOutcome.COPIED, decode=decode, dry_run=dry_run)
    size, etag = stored
    if size == src_stat.st_size:
        data = _read_source(source)
        if _is_md5_etag(etag):
            same = hashlib.md5(data, usedforsecurity=False).hexdigest() == etag
        else:
            same = _stored_sha256(storage, source.media_name) == hashlib.sha256(data).hexdigest()
        if same:
            return StoreResult(StoreOutcome.UNCHANGED, None if dry_run else _facts(source, data, etag=etag))
    return _write(source, storage, StoreOutcome.REPLACED, decode=decode, dry_run=dry_run)


def _write(source: SourceImage, storage: Storage, outcome: StoreOutcome, *, decode: bool, dry_run: bool) -> StoreResult:
    """Check the source (the header; `decode`: every pixel) and write it under its media
    name in one step readers never see half done; return the new facts."""
    with _open_source(source) as source_file:
        check_image(source_file, source.path, decode=decode)
        if dry_run:
            return StoreResult(outcome, None)
        if isinstance(storage, FileSystemStorage):
            facts = _facts(source, _read_all(source_file, source))
            _write_on_filesystem(source, source_file, _filesystem_path(storage, source), incoming_dir(storage))
            return StoreResult(outcome, facts)
        data = _read_all(source_file, source)
    facts = _facts(source, data)
    try:
        etag = media_put_bytes(storage, source.media_name, data, content_type=facts.content_type)
    except MediaStorageUnavailableError:
        raise
    except OSError as exc:
        raise ImageStorageError(f"{source.path}: cannot write {source.media_name} ({exc})") from exc
    return StoreResult(outcome, replace(facts, etag=etag))


def media_put_bytes(
    storage: Storage, name: str, data: bytes, *, content_type: str, cache_control: str | None = None
) -> str:
    """Write `data` at media `name` over whatever is there, in one step no reader sees half
    done (a local temporary file renamed into place; one PUT on S3); return the new ETag
    ("" where there is none). `cache_control` replaces the storage's Cache-Control."""
    if isinstance(storage, FileSystemStorage):
        _write_into_place(
            f"{storage.location}/{name}", incoming_dir(storage), lambda tmp: _write_new_file(tmp, data), label=name
        )
        return ""
    upload = File(io.BytesIO(data), name=name)
    upload.content_type = content_type  # django-storages sends it as Content-Type
    try:
        if _s3_client(storage) is not None:
            return _s3_put(storage, name, upload, data, cache_control=cache_control)
        saved_name = storage.save(name, upload)
    except _storage_faults() as exc:
        raise MediaStorageUnavailableError(f"{media_storage_label(storage)}: cannot write {name} ({exc})") from exc
    if saved_name != name:
        storage.delete(saved_name)
        raise ImageStorageError(
            f"{media_storage_label(storage)} saved {name} as {saved_name}, not over it: "
            "the storage must overwrite in place (django-storages: AWS_S3_FILE_OVERWRITE=True)"
        )
    return ""


def _filesystem_path(storage: FileSystemStorage, source: SourceImage) -> str:
    # The name is built from checked parts (no `..`, not absolute): no safe_join needed.
    return f"{storage.location}/{MEDIA_PREFIX}/{source.relative_name}"


def _write_on_filesystem(source: SourceImage, source_file: BinaryIO, dest: str, incoming: str) -> None:
    """Local fast path: the kernel copies the already opened source into a temporary file
    in `incoming`, renamed into place, so no reader ever sees a partial image (and a killed
    run leaves its fragment in `incoming`, not among the images)."""
    _write_into_place(dest, incoming, lambda tmp: _copy_with_mtime(source_file, tmp, source.stat), label=source.path)


def _write_into_place(dest: str, incoming: str, write, *, label: str) -> None:
    """`write(tmp)` a temporary file in `incoming`, then rename it to `dest`."""
    tmp = os.path.join(incoming, f"{uuid.uuid4().hex}.part")
    try:
        write(tmp)
        try:
            os.replace(tmp, dest)
        except FileNotFoundError:  # the first photo of this XX/ folder
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.replace(tmp, dest)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise ImageStorageError(f"{label}: cannot write {dest} ({exc.strerror or exc})") from exc


def _copy_with_mtime(source_file: BinaryIO, dest: str, src_stat: os.stat_result) -> None:
    """Copy in the kernel (sendfile) into a new file carrying the source's mtime; its
    folder is created on first use only, not asked for once per file."""
    with _open_new_file(dest) as fdst:
        if _KERNEL_COPY:
            offset = 0
            while sent := os.sendfile(fdst.fileno(), source_file.fileno(), offset, _COPY_BLOCK):
                offset += sent
        else:
            source_file.seek(0)
            with open(fdst.fileno(), "wb", closefd=False) as buffered:  # writes every byte
                shutil.copyfileobj(source_file, buffered, _COPY_BLOCK)
        os.utime(fdst.fileno(), ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))


def _write_new_file(dest: str, data: bytes) -> None:
    with _open_new_file(dest) as fdst:
        remaining = memoryview(data)
        while remaining:  # an unbuffered write may take only part
            remaining = remaining[fdst.write(remaining):]


def _open_new_file(dest: str) -> BinaryIO:
    """A new file with media's permissions; its folder is made on first use."""
    try:
        fdst = open(dest, "wb", buffering=0)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fdst = open(dest, "wb", buffering=0)
    os.fchmod(fdst.fileno(), settings.FILE_UPLOAD_PERMISSIONS or 0o644)
    return fdst


def _read_source(source: SourceImage) -> bytes:
    with _open_source(source) as source_file:
        return _read_all(source_file, source)


def _read_all(source_file: BinaryIO, source: SourceImage) -> bytes:
    """The whole file, by offset (the handle's position is the image check's business)."""
    blocks, offset = [], 0
    try:
        while block := os.pread(source_file.fileno(), _COPY_BLOCK, offset):
            blocks.append(block)
            offset += len(block)
    except OSError as exc:
        raise InvalidImageError(f"{source.path}: cannot be read ({exc.strerror})") from exc
    return b"".join(blocks)


def _facts(source: SourceImage, data: bytes, *, etag: str = "") -> ImageFacts:
    """What the StoredImage row records about the bytes just written or found stored."""
    width = height = None
    content_type = "image/png" if data.startswith(_PNG_MAGIC) else "image/jpeg"
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            width, height = image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        pass
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


def _is_md5_etag(etag: str) -> bool:
    return len(etag) == 32 and all(c in "0123456789abcdef" for c in etag)


def _storage_faults() -> tuple[type[BaseException], ...]:
    """What a remote storage raises when it is unreachable, refuses or throttles past the
    client's own retries (boto3 for S3)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def media_storage_label(storage: Storage) -> str:
    """How messages name the media storage: the bucket and endpoint, or the folder."""
    if isinstance(storage, FileSystemStorage):
        return f"media folder {storage.location} (MEDIA_ROOT)"
    bucket = getattr(storage, "bucket_name", None)
    if bucket:
        endpoint = getattr(storage, "endpoint_url", None) or "AWS S3"
        return f"S3 bucket {bucket!r} at {endpoint}"
    return f"media storage {type(storage).__name__}"


def _stored_object(storage: Storage, name: str) -> tuple[int, str] | None:
    """(size, ETag without quotes) of a stored object, None if there is none: one HEAD on
    S3, a stat on a local disk."""
    if isinstance(storage, FileSystemStorage):
        try:
            return os.stat(storage.path(name)).st_size, ""
        except (FileNotFoundError, NotADirectoryError):
            return None
    client = _s3_client(storage)
    try:
        if client is not None:
            from botocore.exceptions import ClientError

            try:
                head = client.head_object(Bucket=storage.bucket_name, Key=_s3_key(storage, name))
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    return None
                raise
            return head["ContentLength"], head.get("ETag", "").strip('"')
        if not storage.exists(name):
            return None
        return storage.size(name), ""
    except _storage_faults() as exc:
        raise MediaStorageUnavailableError(f"{media_storage_label(storage)}: cannot look up {name} ({exc})") from exc


def stored_object_size(storage: Storage, name: str) -> int | None:
    """The stored object's size, None when it is missing (for --verify-storage)."""
    stored = _stored_object(storage, name)
    return None if stored is None else stored[0]


_client_lock = threading.Lock()


def _s3_client(storage: Storage):
    """The S3 client of a django-storages S3Storage, one per storage object and process,
    shared by the upload threads (botocore clients are thread-safe): django-storages' own
    connection is one boto3 session per thread, each loading its own service models (CPU
    and ~20 MB per thread, bench/RESULTS.md). None for any other storage."""
    # On the class: reading `connection` on the object would open one for this thread.
    if not getattr(storage, "bucket_name", None) or not hasattr(type(storage), "connection"):
        return None
    with _client_lock:
        client = getattr(storage, "_image_import_client", None)
        if client is None:
            client = storage.connection.meta.client
            storage._image_import_client = client
    return client


def _s3_put(storage: Storage, name: str, upload: File, data: bytes, *, cache_control: str | None = None) -> str:
    """One PutObject over the existing object, with the parameters django-storages would
    send (Content-Type, AWS_S3_OBJECT_PARAMETERS such as Cache-Control, the default ACL);
    returns the new ETag."""
    parameters = storage._get_write_parameters(name, upload)
    if cache_control:
        parameters["CacheControl"] = cache_control
    response = _s3_client(storage).put_object(
        Bucket=storage.bucket_name, Key=_s3_key(storage, name), Body=data, **parameters
    )
    return response.get("ETag", "").strip('"')


def media_delete(storage: Storage, name: str) -> None:
    """Delete the object at media `name`; one that is already gone is no error. On S3 one
    DeleteObject through the shared client, not django-storages' session per thread (a
    deletion in a new thread would load the service models again)."""
    client = _s3_client(storage)
    if client is None:
        storage.delete(name)
    else:
        client.delete_object(Bucket=storage.bucket_name, Key=_s3_key(storage, name))


def _s3_key(storage: Storage, name: str) -> str:
    """The object key of media `name` (under AWS_LOCATION), as django-storages makes it."""
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


def _stored_sha256(storage: Storage, name: str) -> str:
    """The SHA-256 of a stored object, read through."""
    with media_open(storage, name) as stored:
        return _sha256(stored)


@contextlib.contextmanager
def media_open(storage: Storage, name: str) -> Iterator[BinaryIO]:
    """A stored object open for reading: on S3 one GET through the shared client."""
    client = _s3_client(storage)
    try:
        if client is None:
            with storage.open(name, "rb") as stored:
                yield stored
        else:
            with contextlib.closing(client.get_object(Bucket=storage.bucket_name, Key=_s3_key(storage, name))["Body"]) as body:
                yield body
    except _storage_faults() as exc:
        raise MediaStorageUnavailableError(f"{media_storage_label(storage)}: cannot read {name} ({exc})") from exc


def _sha256(fh) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()
