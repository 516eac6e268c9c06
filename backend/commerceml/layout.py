"""Where 1C puts things in a CommerceML exchange directory: pure, no Django.

Schema 3.1 writes one folder per kind (`goods/`, `offers/`, ...), each file possibly split
into parts `<kind>/<kind>_1_<N>_<uuid>.xml`; pictures go to `goods/import_files/XX/`, XX
being the first two characters of the goods' GUID, named `<goodsGUID>_<fileGUID>.<ext>`,
and a <Картинка> says `import_files/XX/<name>`. The reader, the writer, the image import
and the HTTP exchange's staging all follow these rules.
"""
from __future__ import annotations

import os

GOODS_DIRNAME = "goods"
# Pictures live beside the goods XML: goods/import_files/XX/<file>.
IMPORT_FILES_DIRNAME = "import_files"
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})


def has_image_extension(name: str) -> bool:
    """.jpg, .jpeg or .png in any letter case (1C keeps the name the user uploaded)."""
    # os.path.splitext's answer (leading dots are no extension) without its generality: this
    # runs for every photo of every run.
    stem = name.lstrip(".")
    dot = stem.rfind(".")
    return dot > 0 and stem[dot:].lower() in IMAGE_EXTENSIONS


def images_subdir(goods_id: str) -> str:
    """1C puts a goods' photos in import_files/XX/, XX = the GUID's first two characters."""
    return goods_id[:2] if len(goods_id) >= 2 else "00"


def picture_path(goods_id: str, file_id: str, ext: str) -> str:
    """The <Картинка> text of a goods' photo: import_files/XX/<goodsGUID>_<fileGUID>.<ext>
    (relative to goods/, where the file is)."""
    return f"{IMPORT_FILES_DIRNAME}/{images_subdir(goods_id)}/{goods_id}_{file_id}.{ext}"


def part_file_name(kind: str, part: int, part_id: str) -> str:
    """A 3.1 file, relative to the exchange root: <kind>/<kind>_1_<part>_<uuid>.xml; the
    parts of a kind are read in part order."""
    return f"{kind}/{kind}_1_{part}_{part_id}.xml"
