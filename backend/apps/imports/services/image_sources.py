"""Which source images belong to a product, in 1C's order."""
from __future__ import annotations

import bisect
import os
import threading
from pathlib import Path

from commerceml.reader import split_offer_id

from apps.media.files import IMPORT_FILES_DIRNAME, has_image_extension

_listing_lock = threading.Lock()
# folder path -> (folder mtime_ns, sorted lower-cased image names, original names)
_listings: dict[str, tuple[int, list[str], list[str]]] = {}


def images_subdir(guid: str) -> str:
    """1C puts a goods' photos in import_files/XX/, XX = the first two characters."""
    return guid[:2] if len(guid) >= 2 else "00"


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
