"""Where 1C puts things in a CommerceML exchange directory: pure, no Django.

Schema 3.1 writes one folder per kind (`goods/`, `offers/`, ...), each file possibly split
into parts `<kind>/<kind>_1_<N>_<uuid>.xml`; pictures go to `goods/import_files/XX/`, XX
being the first two characters of the goods' GUID, named `<goodsGUID>_<fileGUID>.<ext>`,
and a <Картинка> says `import_files/XX/<name>`. The reader, the writer, the image import
and the HTTP exchange's staging all follow these rules. Schema 2.x puts files of several
kinds at the top of the directory (import*.xml, offers*.xml, ...): `EXCHANGE_KINDS`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

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


# 3.1 folders 1C writes besides the kinds' (kept as sent, never read).
OTHER_31_FOLDERS = ("units", "documents", "contragents", "properties", "propertiesOffers", "classifier")

# kind -> the 3.1 folder, and the 2.x file-name prefixes (files at the top of the data
# directory) that can carry it.
EXCHANGE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "groups": ("groups", ("import",)),
    "propertiesGoods": ("propertiesGoods", ("import",)),
    "goods": ("goods", ("import",)),
    "offers": ("offers", ("offers",)),
    "priceLists": ("priceLists", ("offers", "prices", "import")),
    "prices": ("prices", ("offers", "prices")),
    "storages": ("storages", ("offers", "rests", "import")),
    "rests": ("rests", ("offers", "rests")),
    "contragents": ("contragents", ("contragents",)),
}


def _part_order(path: Path) -> tuple:
    """`goods_1_10_<uuid>.xml` after `goods_1_2_<uuid>.xml`: numbers compare as numbers."""
    return tuple((0, int(piece), "") if piece.isdigit() else (1, 0, piece) for piece in re.split(r"(\d+)", path.name))


def exchange_files(data_dir: Path, kind: str) -> list[Path]:
    """Files of one kind: <kind>/*.xml (3.1, parts in order), else the 2.x files at the
    top of the data directory that can carry it (import*.xml, offers*.xml, ...)."""
    folder, prefixes = EXCHANGE_KINDS[kind]
    kind_dir = data_dir / folder
    files = sorted((p for p in kind_dir.glob("*.xml") if p.is_file()), key=_part_order) if kind_dir.is_dir() else []
    if files:
        return files
    found: list[Path] = []
    for prefix in prefixes:
        found += sorted((p for p in data_dir.glob(f"{prefix}*.xml") if p.is_file()), key=_part_order)
    return found
