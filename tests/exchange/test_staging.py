"""Names 1C sends, where each file goes, and which import types a file starts."""
from pathlib import PurePosixPath

import pytest

from apps.integrations.services.exchange_http import exchange_import_types
from apps.integrations.services.staging import StagingError, staging_layout_path

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
