"""Catalog (goods) import service: CommerceML -> Product rows."""
import pytest

from django.utils import timezone

from apps.imports.services.catalog_import import catalog_import_goods_file
from apps.products.models import Product

pytestmark = pytest.mark.django_db


def test_create_then_update_by_onec_id(exchange):
    exchange.add_goods("g1", name="Мяч", pictures=["import_files/g1/a.jpg"])
    exchange.add_goods("g2#c1", name="Вариант")
    path = exchange.write_goods_xml()

    first = catalog_import_goods_file(path=path, sync_mark=timezone.now())
    Product.objects.filter(onec_id="g1").update(gallery_images=["products/g1/a.jpg"])
    exchange._goods.clear()
    exchange.add_goods("g1", name="Мяч новый", deleted=True, pictures=["import_files/g1/b.jpg", "import_files/g1/a.jpg"])
    second = catalog_import_goods_file(path=exchange.write_goods_xml(), sync_mark=timezone.now())

    assert first.counters == {"created": 2, "updated": 0, "deactivated": 0, "pictures_listed": 1}
    assert second.counters == {"created": 0, "updated": 1, "deactivated": 1, "pictures_listed": 2}
    product = Product.objects.get(onec_id="g1")
    assert (product.name, product.is_active) == ("Мяч новый", False)
    assert product.onec_picture_paths == ["import_files/g1/b.jpg", "import_files/g1/a.jpg"]
    assert product.gallery_images == ["products/g1/a.jpg"]  # images are the image import's business
    assert Product.objects.count() == 2


def test_goods_without_id_is_reported_and_the_rest_imported(exchange):
    exchange.add_goods("", name="Без Ид")
    exchange.add_goods("g1")
    result = catalog_import_goods_file(path=exchange.write_goods_xml(), sync_mark=timezone.now())
    assert result.counters["created"] == 1 and result.errors == 1
    assert len(result.error_details) == 1 and "has no <Ид>" in result.error_details[0]["reason"]
