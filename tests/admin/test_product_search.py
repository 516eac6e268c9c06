"""The product list's search looks in one stored upper-cased column (Product.search_text)
and finds exactly what Django's own search of the same fields finds: every term, quoted
or not, in one of the fields, case aside; LIKE's wildcards are plain characters."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from apps.products.models import Category, Product

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/products/product/"

TERMS = [
    "модель 12", "МОДЕЛЬ", "мЯч", "Ёж", "ёж", "ART-0001", "art-00", "Бренд 7", "бренд", "0a1b", "0A1B2C",
    '"мяч футбольный"', "'Футбольный мяч'", '"12 ART"', "12 ART", "%", "_", "50%", "a_b", "\\", "ß", "SS",
    "Straße", "İ", "x", "нет такого", '"', "'", '""', "ART-0001 Бренд", "модель\u00a012",
]


@pytest.fixture
def catalog():
    group = Category.objects.create(onec_id="g1", name="Мячи")
    rows = [
        ("0a1b2c3d-0001", "Мяч футбольный модель 12", "ART-0001", "Бренд 7"),
        ("0a1b2c3d-0002", "Мяч волейбольный модель 120", "ART-0002", "Бренд 12"),
        ("0a1b2c3d-0003", "Ёжик резиновый", "art-0003", ""),
        ("0a1b2c3d-0004", "Скидка 50% на a_b", "X\\Y", "Straße"),
        ("0a1b2c3d-0005", "Футбольный мяч", "12", "ART"),  # "12 ART" only across two fields
        ("0a1b2c3d-0006", "İstanbul модель\u00a012", "", "SS"),
        ("0a1b2c3d-0007", "", "", ""),
    ]
    return [Product.objects.create(onec_id=guid, name=name, article=article, brand=brand, category=group)
            for guid, name, article, brand in rows]


def _found(product_admin, request, term: str, *, djangos_own: bool) -> set[str]:
    search = admin.ModelAdmin.get_search_results if djangos_own else type(product_admin).get_search_results
    queryset, may_have_duplicates = search(product_admin, request, Product.objects.all(), term)
    assert not may_have_duplicates
    return set(queryset.values_list("onec_id", flat=True))


def test_the_search_finds_what_djangos_own_search_finds(catalog):
    product_admin = admin.site.get_model_admin(Product)
    request = RequestFactory().get(LIST_URL)

    found = {term: _found(product_admin, request, term, djangos_own=False) for term in TERMS}
    expected = {term: _found(product_admin, request, term, djangos_own=True) for term in TERMS}

    assert found == expected
    assert found["модель 12"] == {"0a1b2c3d-0001", "0a1b2c3d-0002", "0a1b2c3d-0006"}  # a no-break space splits too
    assert found['"12 ART"'] == set() and found["12 ART"] == {"0a1b2c3d-0001", "0a1b2c3d-0002", "0a1b2c3d-0005"}
    assert found["%"] == found["50%"] == {"0a1b2c3d-0004"} and found["\\"] == {"0a1b2c3d-0004"}
    assert found["ёж"] == {"0a1b2c3d-0003"}


def test_the_search_reads_the_stored_column_which_follows_every_write(catalog, client):
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    ball = catalog[0]
    Product.objects.filter(pk=ball.pk).update(name="Мяч баскетбольный")  # as the import writes: no save()
    Product.objects.bulk_create(
        [Product(onec_id="0a1b2c3d-0008", name="Насос", article="PUMP-1")],
        update_conflicts=True, unique_fields=["onec_id"], update_fields=["name", "article"],
    )

    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{LIST_URL}?q=баскетбольный")
    assert [product.onec_id for product in response.context["cl"].result_list] == [ball.onec_id]
    searched = [query["sql"] for query in captured if "search_text" in query["sql"]]
    assert searched and not any('UPPER("products_product"."name"' in sql for sql in searched)
    assert [p.onec_id for p in client.get(f"{LIST_URL}?q=pump").context["cl"].result_list] == ["0a1b2c3d-0008"]
    assert [p.onec_id for p in client.get(f"{LIST_URL}?q=футбольный").context["cl"].result_list] == ["0a1b2c3d-0005"]


def test_a_quoted_term_holding_the_columns_separator_is_searched_djangos_way(catalog):
    """Python splits terms at the separator (a whitespace character to it), so only a quoted
    term can hold it; such a term must not match across two fields."""
    product_admin = admin.site.get_model_admin(Product)
    request = RequestFactory().get(LIST_URL)
    Product.objects.create(onec_id="0a1b2c3d-0009", name="Ряд\x1fстолбец")

    assert _found(product_admin, request, '"ряд\x1fстолбец"', djangos_own=False) == {"0a1b2c3d-0009"}
    assert _found(product_admin, request, '"12\x1fART"', djangos_own=False) == set()  # 0005's article and brand
    assert _found(product_admin, request, "12\x1fART", djangos_own=False) == _found(
        product_admin, request, "12 ART", djangos_own=True
    )
