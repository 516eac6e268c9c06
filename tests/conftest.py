"""Shared fixtures: a temporary MEDIA_ROOT, real image files made with Pillow, 1C exchange
directories written on disk, and one Prefect test server for the whole session."""
from __future__ import annotations

import io
import os
import shutil
import uuid
from pathlib import Path

import pytest
from PIL import Image

from commerceml import writer as cml
from commerceml.layout import GOODS_DIRNAME, IMPORT_FILES_DIRNAME, picture_path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")  # Prefect client telemetry

SAMPLE_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "onec-sample"


def make_image_bytes(*, size=(32, 24), color=(200, 30, 30), fmt="JPEG", noise=False) -> bytes:
    """A real, decodable image; different colors give different bytes; `noise` makes it
    photo-sized (random pixels compress badly)."""
    buffer = io.BytesIO()
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    image.save(buffer, fmt)
    return buffer.getvalue()


class Exchange:
    """A 1C exchange directory under construction: goods XML and import_files/XX/ photos."""

    def __init__(self, root: Path):
        self.root = root
        self.goods_dir = root / GOODS_DIRNAME
        self.images_dir = self.goods_dir / IMPORT_FILES_DIRNAME
        self.images_dir.mkdir(parents=True, exist_ok=True)
        self._goods: list[cml.Goods] = []

    def add_image(self, guid: str, file_guid: str | None = None, *, ext="jpg", data: bytes | None = None, color=None) -> str:
        """Write import_files/XX/<guid>_<file_guid>.<ext>; return the <Картинка> path."""
        path = picture_path(guid, file_guid or uuid.uuid4().hex[:8], ext)
        file = self.goods_dir / path
        file.parent.mkdir(exist_ok=True)
        if data is None:
            fmt = "PNG" if ext.lower() == "png" else "JPEG"
            data = make_image_bytes(color=color or (hash(file.name) % 256, 80, 120), fmt=fmt)
        file.write_bytes(data)
        return path

    def add_goods(self, guid: str, *, name="Товар", pictures=(), deleted=False, article="") -> None:
        self._goods.append(cml.Goods(guid, name, article=article, pictures=pictures, deleted=deleted))

    def write_goods_xml(self, filename="goods.xml", *, bom=False) -> Path:
        return cml.write_file(self.goods_dir, filename, cml.CommerceMLWriter().goods(self._goods, bom=bom))


@pytest.fixture
def exchange(tmp_path) -> Exchange:
    return Exchange(tmp_path / "import_1c")


@pytest.fixture
def media_root(tmp_path, settings) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def sample_dir() -> Path:
    if not (SAMPLE_DIR / "goods" / "goods.xml").is_file():
        pytest.skip(f"the real 1C sample is not at {SAMPLE_DIR} (it lives in ../shared/onec-sample)")
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect test server (~10 s to start) shared by every flow test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


def media_files(root: Path) -> dict[str, bytes]:
    """Every file in media but the web renditions (`rendition_files`)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "renditions"
    }


def rendition_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "renditions").rglob("*")) if p.is_file()}


@pytest.fixture
def copy_sample(tmp_path, sample_dir) -> Path:
    """A writable copy of the real sample exchange."""
    target = tmp_path / "sample"
    shutil.copytree(sample_dir, target)
    return target
