"""The real 1C sample, end to end through the import_1c command (flows under Prefect)."""
import xml.etree.ElementTree as ET

import pytest

from apps.imports.models import ImportSession
from apps.products.models import Product
from tests.conftest import media_files
from tests.flows.helpers import run_import_command

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]

NS = "{urn:1C.ru:commerceml_3}"


def _pictures_in_sample(sample_dir) -> dict[str, list[str]]:
    root = ET.parse(sample_dir / "goods" / "goods.xml").getroot()
    return {
        goods.findtext(f"{NS}Ид"): [p.text for p in goods.findall(f"{NS}Картинка")]
        for goods in root.iter(f"{NS}Товар")
    }


def test_catalog_then_images_imports_every_picture_in_1c_order(sample_dir, media_root, capsys):
    catalog = run_import_command(capsys, "catalog", "--data-dir", str(sample_dir))
    assert catalog["status"] == "completed" and catalog["created"] == 3

    report = run_import_command(capsys, "images", "--data-dir", str(sample_dir))

    assert report["status"] == "completed"
    assert (report["total_products"], report["processed"], report["copied"], report["errors"]) == (3, 3, 13, 0)
    expected = _pictures_in_sample(sample_dir)
    assert len(expected) == 3
    for guid, pictures in expected.items():
        product = Product.objects.get(onec_id=guid)
        media_names = ["products/" + p.removeprefix("import_files/") for p in pictures]
        assert product.main_image.name == media_names[0]
        assert product.gallery_images == media_names[1:]
        for name in media_names:
            assert (media_root / name).read_bytes() == (sample_dir / "goods" / "import_files" / name.removeprefix("products/")).read_bytes()
    assert len(media_files(media_root)) == 13


def test_second_run_copies_nothing_and_changes_nothing(sample_dir, media_root, capsys):
    run_import_command(capsys, "catalog", "--data-dir", str(sample_dir))
    run_import_command(capsys, "images", "--data-dir", str(sample_dir))
    media_before = media_files(media_root)
    pictures_before = list(Product.objects.order_by("onec_id").values_list("main_image", "gallery_images"))

    again = run_import_command(capsys, "images", "--data-dir", str(sample_dir))

    assert again["status"] == "completed"
    assert (again["copied"], again["skipped"], again["errors"]) == (0, 13, 0)
    assert media_files(media_root) == media_before
    assert list(Product.objects.order_by("onec_id").values_list("main_image", "gallery_images")) == pictures_before
    assert ImportSession.objects.filter(status="completed").count() == 3
