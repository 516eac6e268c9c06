"""Names 1C sends, where each file goes, which import types a file starts, and archives
unpacked entry by entry, safe against another unpacker and one that died."""
import fcntl
from pathlib import Path, PurePosixPath

import pytest
from django.utils import translation

from apps.i18n.messages import message_of, message_text
from apps.onec_exchange.services.runs import exchange_import_types
from apps.onec_exchange.services.staging import (
    ArchiveLimits,
    StagingError,
    archive_checked,
    archive_extract,
    staging_layout_path,
)
from tests.exchange.client_1c import zip_bytes

GUID = "0a1b2c3d-0000-0000-0000-000000000001"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (f"import_files/0a/{GUID}.jpg", f"goods/import_files/0a/{GUID}.jpg"),
        (f"goods/import_files/0a/{GUID}.jpg", f"goods/import_files/0a/{GUID}.jpg"),
        (f"goods/goods_1_1_{GUID}.xml", f"goods/goods_1_1_{GUID}.xml"),
        (f"goods_1_1_{GUID}.xml", f"goods/goods_1_1_{GUID}.xml"),
        (f"offers_1_2_{GUID}.xml", f"offers/offers_1_2_{GUID}.xml"),
        ("priceLists.xml", "priceLists/priceLists.xml"),
        (f"goods\\goods_1_1_{GUID}.xml", f"goods/goods_1_1_{GUID}.xml"),
        (f"C:\\Users\\1c\\AppData\\Local\\Temp\\v8_A1B2\\goods\\goods_1_1_{GUID}.xml", f"goods/goods_1_1_{GUID}.xml"),
        (f"C:\\Temp\\v8_A1B2\\import_files\\0a\\{GUID}.jpg", f"goods/import_files/0a/{GUID}.jpg"),
        ("import.xml", "import.xml"),
        ("offers.xml", "offers.xml"),
        ("import0_1.xml", "import0_1.xml"),
        ("exchange.zip", "exchange.zip"),
        ("./rests/./rests.xml", "rests/rests.xml"),
    ],
)
def test_names_are_laid_out_as_the_importers_read_them(name, expected):
    assert staging_layout_path(name) == PurePosixPath(expected)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../goods.xml", "'..'"),
        ("goods/../../etc/passwd", "'..'"),
        ("C:\\Temp\\..\\..\\x.xml", "'..'"),
        ("/etc/passwd", "absolute"),
        ("//server/share/goods.xml", "absolute"),
        ("goods/goods.xml\x00.jpg", "NUL"),
        ("", "empty"),
        ("import_files/", "folder"),
    ],
)
def test_names_leaving_the_staging_area_are_refused(name, reason):
    with pytest.raises(StagingError, match=reason):
        staging_layout_path(name)


@pytest.mark.parametrize(
    ("path", "types"),
    [
        ("goods/goods.xml", ["catalog", "images"]),
        ("offers/offers.xml", ["catalog"]),
        ("groups/groups.xml", ["catalog"]),
        ("prices/prices.xml", ["prices"]),
        ("priceLists/priceLists.xml", ["prices"]),
        ("rests/rests.xml", ["stocks"]),
        ("storages/storages.xml", ["stocks"]),
        ("contragents/contragents.xml", ["customers"]),
        ("units/units.xml", []),
        ("propertiesGoods/propertiesGoods.xml", []),
        ("import.xml", ["catalog", "images"]),
        ("offers.xml", ["catalog", "stocks", "prices"]),  # offers are the catalog's characteristics
        (f"goods/import_files/0a/{GUID}.jpg", []),
    ],
)
def test_the_registry_says_which_imports_a_file_starts(path, types):
    assert exchange_import_types(PurePosixPath(path)) == types


LIMITS = ArchiveLimits(max_entries=10, max_bytes=10**6, max_ratio=100)


def _archive(path: Path, data: bytes = b"<x/>") -> Path:
    path.write_bytes(zip_bytes({"goods/goods.xml": data}))
    return path


def _unpack_entries(path: Path, root: Path) -> int:
    with archive_checked(path, name=path.name, limits=LIMITS) as opened:
        return archive_extract(
            archive=opened.archive, entries=opened.entries, start=0, root=root, name=path.name,
            progress=lambda done, entry, written: None,
        )


def test_a_partial_file_left_by_a_dead_process_is_unpacked_afresh(tmp_path):
    path = _archive(tmp_path / "exchange.zip", b"<goods>whole</goods>")
    root = tmp_path / "staging"
    (root / "goods").mkdir(parents=True)
    (root / "goods" / "goods.xml.unpacking").write_bytes(b"<goods>half, and more than the entry holds")

    assert _unpack_entries(path, root) == 1
    assert [p.name for p in (root / "goods").iterdir()] == ["goods.xml"]
    assert (root / "goods" / "goods.xml").read_bytes() == b"<goods>whole</goods>"


def test_an_entry_another_process_unpacks_is_left_to_it(tmp_path):
    path = _archive(tmp_path / "exchange.zip", b"<goods>whole</goods>")
    root = tmp_path / "staging"
    (root / "goods").mkdir(parents=True)
    partial = root / "goods" / "goods.xml.unpacking"
    partial.write_bytes(b"<goods>wh")
    with open(partial, "ab") as other_process:  # flock excludes another open file as it does another process
        fcntl.flock(other_process.fileno(), fcntl.LOCK_EX)

        assert _unpack_entries(path, root) == 0
        assert partial.read_bytes() == b"<goods>wh" and not (root / "goods" / "goods.xml").exists()

    assert _unpack_entries(path, root) == 1
    assert (root / "goods" / "goods.xml").read_bytes() == b"<goods>whole</goods>" and not partial.exists()


def test_an_archive_the_os_cannot_open_is_refused_without_the_servers_path(tmp_path):
    with pytest.raises(StagingError) as refused:
        with archive_checked(tmp_path / "gone.zip", name="import.zip", limits=LIMITS):
            pass

    with translation.override("ru"):
        said = message_text(message_of(refused.value))
    assert said == "архив import.zip неполный или повреждён (нет такого файла или папки): 1С должна отправить его снова"
    assert str(tmp_path) not in str(refused.value) and "Errno" not in str(refused.value)
