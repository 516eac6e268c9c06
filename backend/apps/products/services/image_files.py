"""Source-image rules: where a 1C picture path may point, what counts as an image, and how
it reaches media storage (atomically, once per distinct content)."""
from __future__ import annotations

import filecmp
import hashlib
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Callable

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from PIL import Image

from ..exceptions import ImageStorageError, InvalidImageError, UnsafeImagePathError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
MEDIA_PREFIX = "products"
INCOMING_DIRNAME = ".incoming"
IMPORT_FILES_DIRNAME = "import_files"

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SourceImage:
    """A picture inside import_files: `relative_name` is `XX/<file>`, one per image."""

    relative_name: str
    path: Path

    @property
    def media_name(self) -> str:
        return f"{MEDIA_PREFIX}/{self.relative_name}"


class StoreOutcome(Enum):
    COPIED = "copied"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"


def has_image_extension(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def resolve_source_image(image_path: str, images_dir: Path) -> SourceImage:
    """Map any accepted spelling of a picture path to the one file it names.

    `import_files/01/x.jpg`, `01/x.jpg` and `01\\x.jpg` are the same image. Absolute paths,
    `..` and symlinks leading out of `images_dir` are refused before anything is read.
    """
    raw = image_path.strip().replace("\\", "/")
    pure = PurePosixPath(raw)
    if not raw or pure.is_absolute() or (len(raw) > 1 and raw[1] == ":"):
        raise UnsafeImagePathError(f"security: {image_path!r} is absolute; 1C writes paths relative to goods/, so it was not read")
    parts = list(pure.parts)
    if parts and parts[0] == IMPORT_FILES_DIRNAME:
        parts = parts[1:]
    if not parts or any(part in ("..", ".") for part in parts):
        raise UnsafeImagePathError(f"security: {image_path!r} leaves goods/import_files; it was not read")
    if not has_image_extension(parts[-1]):
        raise InvalidImageError(f"{image_path!r}: not a .jpg, .jpeg or .png file name")
    relative_name = "/".join(parts)
    path = images_dir / relative_name
    real_root = os.path.realpath(images_dir)
    real_path = os.path.realpath(path)
    if os.path.commonpath([real_root, real_path]) != real_root:
        raise UnsafeImagePathError(
            f"security: {image_path!r} resolves to {real_path}, outside {real_root} (a symlink?); it was not read"
        )
    return SourceImage(relative_name=relative_name, path=path)


def check_image_file(path: Path, *, decode: bool) -> None:
    """Refuse files that are not JPEG/PNG images; with `decode`, decode every pixel.

    The header check is always on, so empty or non-image bytes never become a product's
    picture. Pillow's `verify()` does not check JPEG data, hence the full `load()`.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise InvalidImageError(f"{path}: listed by 1C but missing on disk; re-run the 1C exchange") from None
    except OSError as exc:
        raise InvalidImageError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not head:
        raise InvalidImageError(f"{path}: the file is empty (0 bytes)")
    if not (head.startswith(_JPEG_MAGIC) or head.startswith(_PNG_MAGIC)):
        raise InvalidImageError(f"{path}: not a JPEG or PNG image (unexpected file content)")
    if decode:
        _decode_image(path)


def _decode_image(path: Path) -> None:
    max_pixels = settings.ONEC_IMAGE_MAX_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(path) as image:
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
    source: SourceImage, storage: Storage, *, before_write: Callable[[], None], dry_run: bool = False
) -> StoreOutcome:
    """Put the source file at its media name unless the same bytes are already there.

    `before_write` (the image check) runs only when bytes are about to be written, so an
    unchanged file costs a stat, not a read. `dry_run` checks and decides but writes nothing.
    """
    if isinstance(storage, FileSystemStorage):
        return _store_on_filesystem(
            source, Path(storage.path(source.media_name)), incoming_dir(storage), before_write, dry_run
        )
    return _store_in_storage(source, storage, before_write, dry_run)


def incoming_dir(storage: FileSystemStorage) -> Path:
    """Where files are written before being renamed into place (same file system)."""
    return Path(storage.location) / INCOMING_DIRNAME


def media_clear_incoming(storage: Storage | None = None) -> int:
    """Remove what an interrupted run left half-written; call when no import runs."""
    storage = storage or default_storage
    if not isinstance(storage, FileSystemStorage):
        return 0
    removed = 0
    folder = incoming_dir(storage)
    for leftover in folder.glob("*.part") if folder.is_dir() else ():
        leftover.unlink(missing_ok=True)
        removed += 1
    if removed:
        logger.warning("removed %d partial files of an interrupted import from %s", removed, folder)
    return removed


def _store_on_filesystem(
    source: SourceImage, dest: Path, incoming: Path, before_write: Callable[[], None], dry_run: bool
) -> StoreOutcome:
    """Local fast path: size+mtime says "unchanged" without reading; the kernel copies
    into a temporary file that is renamed into place, so no reader ever sees a partial
    image (and a killed run leaves its fragment in `incoming`, not among the images)."""
    src_stat = source.path.stat()
    try:
        dest_stat = dest.stat()
    except (FileNotFoundError, NotADirectoryError):
        dest_stat = None
    if dest_stat is not None and dest_stat.st_size == src_stat.st_size:
        if dest_stat.st_mtime_ns == src_stat.st_mtime_ns:
            return StoreOutcome.UNCHANGED
        if filecmp.cmp(source.path, dest, shallow=False):
            if not dry_run:
                os.utime(dest, ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))
            return StoreOutcome.UNCHANGED
    before_write()
    if dry_run:
        return StoreOutcome.COPIED if dest_stat is None else StoreOutcome.REPLACED
    tmp = incoming / f"{uuid.uuid4().hex}.part"
    try:
        incoming.mkdir(parents=True, exist_ok=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.path, tmp)
        os.chmod(tmp, settings.FILE_UPLOAD_PERMISSIONS or 0o644)
        os.utime(tmp, ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ImageStorageError(f"{source.path}: cannot write {dest} ({exc.strerror or exc})") from exc
    return StoreOutcome.COPIED if dest_stat is None else StoreOutcome.REPLACED


def _store_in_storage(
    source: SourceImage, storage: Storage, before_write: Callable[[], None], dry_run: bool
) -> StoreOutcome:
    """Generic Storage (S3 and the like): compare by content hash, then overwrite in place."""
    name = source.media_name
    existed = storage.exists(name)
    if existed and storage.size(name) == source.path.stat().st_size:
        with storage.open(name, "rb") as stored:
            if _sha256(stored) == _sha256_path(source.path):
                return StoreOutcome.UNCHANGED
    before_write()
    if dry_run:
        return StoreOutcome.REPLACED if existed else StoreOutcome.COPIED
    try:
        if existed:
            storage.delete(name)
        with open(source.path, "rb") as fh:
            saved_name = storage.save(name, File(fh))
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


def _sha256_path(path: Path) -> str:
    with open(path, "rb") as fh:
        return _sha256(fh)
