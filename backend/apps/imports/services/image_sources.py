"""Which source images belong to a product, in 1C's order, and where a 1C picture path may
point (inside goods/import_files, nowhere else)."""
from __future__ import annotations

import bisect
import os
import stat
import threading
from pathlib import Path

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message
from apps.media.exceptions import InvalidImageError, UnsafeImagePathError
from apps.media.files import SourceImage
from commerceml.layout import IMPORT_FILES_DIRNAME, has_image_extension, images_subdir
from commerceml.reader import split_offer_id

_listing_lock = threading.Lock()
# folder path -> (folder mtime_ns, sorted lower-cased image names, original names)
_listings: dict[str, tuple[int, list[str], list[str]]] = {}


def product_image_paths(*, onec_id: str, picture_paths: list[str], images_dir: Path) -> list[str]:
    """The product's ordered <Картинка> list; without one, the files named after its GUID.

    The scan follows the seeds: `import_files/XX/<guid>*` with a .jpg/.jpeg/.png extension in
    any letter case, in file-name order.
    """
    if picture_paths:
        return list(picture_paths)
    guid, _ = split_offer_id(onec_id)  # a variant `goods#characteristic` shows its goods' photos
    if not guid:
        return []
    subdir = images_subdir(guid)
    return [f"{IMPORT_FILES_DIRNAME}/{subdir}/{name}" for name in _names_starting_with(images_dir / subdir, guid)]


def _names_starting_with(folder: Path, prefix: str) -> list[str]:
    lowered, names = _folder_listing(folder)
    key = prefix.lower()
    start = bisect.bisect_left(lowered, key)
    found = []
    for index in range(start, len(lowered)):
        if not lowered[index].startswith(key):
            break
        found.append(names[index])
    return found


def _folder_listing(folder: Path) -> tuple[list[str], list[str]]:
    """Image names of one XX/ folder, read once and reused until the folder changes."""
    key = str(folder)
    try:
        mtime_ns = os.stat(folder).st_mtime_ns
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    with _listing_lock:
        cached = _listings.get(key)
        if cached and cached[0] == mtime_ns:
            return cached[1], cached[2]
    with os.scandir(folder) as entries:
        names = sorted(
            (entry.name for entry in entries if has_image_extension(entry.name)),
            key=lambda name: (name.lower(), name),
        )
    lowered = [name.lower() for name in names]
    with _listing_lock:
        _listings[key] = (mtime_ns, lowered, names)
    return lowered, names


def resolve_source_image(
    image_path: str, images_dir: Path | str, *, real_folders: set[str] | None = None
) -> SourceImage:
    """Map any accepted spelling of a picture path to the one file it names.

    `import_files/01/x.jpg`, `01/x.jpg`, `01\\x.jpg` and `01//./x.jpg` are the same image.
    Absolute paths, `..` and symlinks leading out of `images_dir` are refused before
    anything is read. `real_folders`: folders a caller resolving many paths at once (a
    chunk) already found to be no symlinks, kept between calls, so most files cost one
    lstat of their own.
    """
    root = source_root(images_dir)
    relative_name = source_image_name(image_path)
    file_stat = source_image_stat(relative_name, root, real_folders=real_folders, image_path=image_path)
    return SourceImage(relative_name=relative_name, path=f"{root}/{relative_name}", stat=file_stat)


def source_root(images_dir: Path | str) -> str:
    """The folder picture paths are resolved in, as `source_image_stat` takes it."""
    return os.fspath(images_dir).rstrip("/") or "/"


def source_image_name(image_path: str) -> str:
    """The name below import_files a picture path means (resolve_source_image's first half:
    no file is touched); UnsafeImagePathError or InvalidImageError naming the path."""
    return "/".join(_relative_parts(image_path))


def source_image_stat(
    relative_name: str, root: str, *, real_folders: set[str] | None = None, image_path: str | None = None
) -> os.stat_result | None:
    """resolve_source_image's second half: the stat of `root`/`relative_name` (a name from
    `source_image_name`, `root` from `source_root`), None if it is no regular file; a
    symlink on the way leading out of `root` is refused (naming `image_path`)."""
    parts = relative_name.split("/")
    try:
        file_stat = _lstat_below(root, parts, set() if real_folders is None else real_folders)
        if file_stat is None:  # a symlink on the way: where does it really lead?
            path = f"{root}/{relative_name}"
            _refuse_outside(image_path or relative_name, root, path)
            file_stat = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        file_stat = None
    if file_stat is not None and not stat.S_ISREG(file_stat.st_mode):
        file_stat = None
    return file_stat


def _relative_parts(image_path: str) -> list[str]:
    """The path's components below import_files; UnsafeImagePathError or InvalidImageError
    (naming the path) for what must not be read."""
    return _usual_spelling_parts(image_path) or _cleaned_parts(image_path)


def _usual_spelling_parts(image_path: str) -> list[str] | None:
    """The spelling 1C writes, import_files/XX/<file>, with one split instead of
    `_cleaned_parts` (this runs for every photo of every run); None for any other spelling.
    It must accept only what `_cleaned_parts` accepts, with the same parts (a property test
    holds them to it: tests/unit/test_image_sources.py)."""
    if (
        image_path.startswith(_IMPORT_FILES_PREFIX) and image_path.count("/") == 2
        and "\\" not in image_path and "\x00" not in image_path and not image_path[-1:].isspace()
    ):
        parts = image_path[len(_IMPORT_FILES_PREFIX):].split("/")
        if parts[0] not in _NOT_NAMES and parts[1] not in _NOT_NAMES and has_image_extension(parts[1]):
            return parts
    return None


def _cleaned_parts(image_path: str) -> list[str]:
    """Every accepted spelling cleaned up (backslashes, empty and `.` components, the
    import_files/ prefix), every refusal on the way."""
    raw = image_path.strip().replace("\\", "/")
    if "\x00" in raw:
        raise UnsafeImagePathError(
            Message(gettext_noop("security: %(path)s contains a NUL character; it was not read"), path=repr(image_path))
        )
    if not raw or raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise UnsafeImagePathError(Message(
            gettext_noop("security: %(path)s is absolute; 1C writes paths relative to goods/, so it was not read"),
            path=repr(image_path),
        ))
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if parts and parts[0] == IMPORT_FILES_DIRNAME:
        parts = parts[1:]
    if not parts or ".." in parts:
        raise UnsafeImagePathError(
            Message(gettext_noop("security: %(path)s leaves goods/import_files; it was not read"), path=repr(image_path))
        )
    if not has_image_extension(parts[-1]):
        raise InvalidImageError(
            Message(gettext_noop("%(path)s: not a .jpg, .jpeg or .png file name"), path=repr(image_path))
        )
    return parts


_IMPORT_FILES_PREFIX = f"{IMPORT_FILES_DIRNAME}/"
_NOT_NAMES = frozenset({"", ".", ".."})


def _lstat_below(root: str, parts: list[str], real_folders: set[str]) -> os.stat_result | None:
    """lstat each path component below `root` not in `real_folders` (1 or 2 calls for
    `XX/<file>`, where realpath() walks the whole path); None as soon as one of them is a
    symlink. Folders found real join `real_folders`."""
    current = root
    for part in parts[:-1]:
        current = f"{current}/{part}"
        if current in real_folders:
            continue
        if stat.S_ISLNK(os.lstat(current).st_mode):
            return None
        real_folders.add(current)
    file_stat = os.lstat(f"{current}/{parts[-1]}")
    return None if stat.S_ISLNK(file_stat.st_mode) else file_stat


def _refuse_outside(image_path: str, images_dir: str, path: str) -> None:
    real_root = os.path.realpath(images_dir)
    real_path = os.path.realpath(path)
    if os.path.commonpath([real_root, real_path]) != real_root:
        raise UnsafeImagePathError(Message(
            gettext_noop("security: %(path)s resolves to %(real)s, outside %(root)s (a symlink?); it was not read"),
            path=repr(image_path), real=real_path, root=real_root,
        ))
