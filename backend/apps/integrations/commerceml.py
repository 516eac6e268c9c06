"""CommerceML (1C exchange XML) reading: pure, streaming, no ORM.

Handles schema 3.1 (one folder per kind: goods/, offers/, ...) and 2.x (import.xml),
with or without a UTF-8 byte-order mark, with or without the XML namespace. Memory stays
flat in file size: each element is dropped from the tree once it has been read.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .exceptions import CommerceMLError

_TRUE_VALUES = {"true", "1", "истина", "да"}


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def iter_elements(path: Path, name: str) -> Iterator[ET.Element]:
    """Yield each complete element called `name` (namespace ignored), then free it."""
    stack: list[ET.Element] = []
    try:
        for event, elem in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                stack.append(elem)
                continue
            stack.pop()
            if local_name(elem.tag) == name and not any(local_name(e.tag) == name for e in stack):
                yield elem
                if stack:
                    stack[-1].remove(elem)
    except ET.ParseError as exc:
        line, column = exc.position
        raise CommerceMLError(
            f"{path}: line {line}, column {column}: malformed XML ({exc.msg if hasattr(exc, 'msg') else exc}); "
            "ask 1C to re-export this file"
        ) from None


def child_text(elem: ET.Element, name: str) -> str:
    for child in elem:
        if local_name(child.tag) == name:
            return (child.text or "").strip()
    return ""


def children_texts(elem: ET.Element, name: str) -> list[str]:
    return [(child.text or "").strip() for child in elem if local_name(child.tag) == name and (child.text or "").strip()]


def is_deletion_marked(elem: ET.Element) -> bool:
    """3.1 says <ПометкаУдаления>true</ПометкаУдаления>; 2.x may say Статус="Удален"."""
    if child_text(elem, "ПометкаУдаления").lower() in _TRUE_VALUES:
        return True
    status = elem.get("Статус") or child_text(elem, "Статус")
    return status.strip().lower() == "удален"


@dataclass(frozen=True)
class GoodsItem:
    onec_id: str
    name: str
    article: str
    is_deleted: bool
    picture_paths: tuple[str, ...]
    line: int | None = None


@dataclass(frozen=True)
class SkippedElement:
    """An element that could not be read as a record, with where it is and why."""

    path: str
    reason: str


def iter_goods(path: Path) -> Iterator[GoodsItem | SkippedElement]:
    """Goods (<Товар>) of a goods file in document order, pictures in 1C's order."""
    for index, elem in enumerate(iter_elements(path, "Товар"), start=1):
        onec_id = child_text(elem, "Ид")
        if not onec_id:
            name = child_text(elem, "Наименование")
            yield SkippedElement(
                path=str(path), reason=f"<Товар> #{index} ({name or 'no name'}) has no <Ид>; skipped"
            )
            continue
        yield GoodsItem(
            onec_id=onec_id,
            name=child_text(elem, "Наименование"),
            article=child_text(elem, "Артикул"),
            is_deleted=is_deletion_marked(elem),
            picture_paths=tuple(children_texts(elem, "Картинка")),
        )


def goods_files(data_dir: Path) -> list[Path]:
    """Goods files of an exchange: goods/*.xml (3.1, possibly split into parts), else the
    2.x import*.xml at the top of the data directory."""
    goods_dir = data_dir / "goods"
    files = sorted(goods_dir.glob("*.xml")) if goods_dir.is_dir() else []
    return files or sorted(data_dir.glob("import*.xml"))
