"""Source-image rules: where a 1C picture path may point, what counts as an image, and how
it reaches media storage (atomically, once per distinct content)."""
from __future__ import annotations

import contextlib
import filecmp
import hashlib
import logging
import os
import shutil
import stat
import sys
import uuid
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from PIL import Image

from ..exceptions import ImageImportError, ImageStorageError, InvalidImageError, UnsafeImagePathError

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
    UNCHANGED = "unchanged"


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


def store_image(source: SourceImage, storage: Storage, *, decode: bool = False, dry_run: bool = False) -> StoreOutcome:
    """Put the source file at its media name unless the same bytes are already there.

    The image check (`check_image`; `decode` for every pixel) runs only when bytes are about
    to be written, so an unchanged file costs a stat, not a read. `dry_run` checks and
    decides but writes nothing.
    """
    if source.stat is None:
        raise _missing_on_disk(source)
    if isinstance(storage, FileSystemStorage):
        # The name is built from checked parts (no `..`, not absolute): no safe_join needed.
        dest = f"{storage.location}/{MEDIA_PREFIX}/{source.relative_name}"
        return _store_on_filesystem(source, dest, storage, decode=decode, dry_run=dry_run)
    return _store_in_storage(source, storage, decode=decode, dry_run=dry_run)


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


def _store_on_filesystem(
    source: SourceImage, dest: str, storage: FileSystemStorage, *, decode: bool, dry_run: bool
) -> StoreOutcome:
    """Local fast path: size+mtime says "unchanged" without reading; the source is opened
    once, checked, and copied by the kernel into a temporary file that is renamed into
    place, so no reader ever sees a partial image (and a killed run leaves its fragment in
    `incoming`, not among the images)."""
    src_stat = source.stat
    try:
        dest_stat = os.stat(dest)
    except (FileNotFoundError, NotADirectoryError):
        dest_stat = None
    if dest_stat is not None and dest_stat.st_size == src_stat.st_size:
        if dest_stat.st_mtime_ns == src_stat.st_mtime_ns:
            return StoreOutcome.UNCHANGED
        if filecmp.cmp(source.path, dest, shallow=False):
            if not dry_run:
                os.utime(dest, ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))
            return StoreOutcome.UNCHANGED
    outcome = StoreOutcome.COPIED if dest_stat is None else StoreOutcome.REPLACED
    with _open_source(source) as source_file:
        check_image(source_file, source.path, decode=decode)
        if dry_run:
            return outcome
        tmp = os.path.join(incoming_dir(storage), f"{uuid.uuid4().hex}.part")
        try:
            _copy_with_mtime(source_file, tmp, src_stat)
            try:
                os.replace(tmp, dest)
            except FileNotFoundError:  # the first photo of this XX/ folder
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.replace(tmp, dest)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise ImageStorageError(f"{source.path}: cannot write {dest} ({exc.strerror or exc})") from exc
    return outcome


def _copy_with_mtime(source_file: BinaryIO, dest: str, src_stat: os.stat_result) -> None:
    """Copy in the kernel (sendfile) into a new file carrying the source's mtime; its
    folder is created on first use only, not asked for once per file."""
    try:
        fdst = open(dest, "wb", buffering=0)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fdst = open(dest, "wb", buffering=0)
    with fdst:
        os.fchmod(fdst.fileno(), settings.FILE_UPLOAD_PERMISSIONS or 0o644)
        if _KERNEL_COPY:
            offset = 0
            while sent := os.sendfile(fdst.fileno(), source_file.fileno(), offset, _COPY_BLOCK):
                offset += sent
        else:
            source_file.seek(0)
            with open(fdst.fileno(), "wb", closefd=False) as buffered:  # writes every byte
                shutil.copyfileobj(source_file, buffered, _COPY_BLOCK)
        os.utime(fdst.fileno(), ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))


def _store_in_storage(source: SourceImage, storage: Storage, *, decode: bool, dry_run: bool) -> StoreOutcome:
    """Generic Storage (S3 and the like): compare by content hash, then overwrite in place."""
    name = source.media_name
    existed = storage.exists(name)
    with _open_source(source) as source_file:
        if existed and storage.size(name) == source.stat.st_size:
            with storage.open(name, "rb") as stored:
                if _sha256(stored) == _sha256(source_file):
                    return StoreOutcome.UNCHANGED
            source_file.seek(0)
        check_image(source_file, source.path, decode=decode)
        if dry_run:
            return StoreOutcome.REPLACED if existed else StoreOutcome.COPIED
        source_file.seek(0)
        try:
            if existed:
                storage.delete(name)
            saved_name = storage.save(name, File(source_file))
        except OSError as exc:
            raise ImageStorageError(f"{source.path}: cannot write {name} ({exc})") from exc
    if saved_name != name:
        storage.delete(saved_name)
        raise ImageStorageError(f"{source.path}: storage renamed {name} to {saved_name}; refused to keep a duplicate")
    return StoreOutcome.REPLACED if existed else StoreOutcome.COPIED


def _sha256(fh) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()
