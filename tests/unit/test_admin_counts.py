"""Every count the admin shows says the model's name in the right plural form, in both
languages: «1 товар», «3 товара», «5 товаров» (config/admin_counts.py). Django's admin says
the number before the one plural name («3 товары»)."""
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation

from apps.products.models import PRODUCT_COUNT, Category, Product
from config.admin_counts import admin_count

PRODUCTS = reverse("admin:products_product_changelist")
GROUPS = reverse("admin:products_category_changelist")  # the product list shows no total (show_full_result_count)


def test_every_admin_names_its_counts_with_one_ngettext():
    admins = [admin.site.get_model_admin(model) for model in apps.get_models() if admin.site.is_registered(model)]
    assert len(admins) >= 13
    unnamed = [type(model_admin).__name__ for model_admin in admins if getattr(model_admin, "count_name", None) is None]
    assert not unnamed, f"these admins say their counts Django's way («3 товары»): {unnamed}; give each a count_name"


def test_the_import_page_and_the_admin_count_products_by_one_rule():
    """The import page's last catalog summary (apps.imports.views, which may not import the
    admin) and the product list read the one PRODUCT_COUNT."""
    assert admin.site.get_model_admin(Product).count_name is PRODUCT_COUNT
    with translation.override("ru"):
        assert PRODUCT_COUNT % {"count": 5} == "5 товаров"


def test_a_count_takes_russians_three_forms_and_englishs_two():
    products = admin.site.get_model_admin(Product)
    with translation.override("ru"):
        assert [admin_count(products, n) for n in (1, 3, 5, 11, 21, 22)] == [
            "1 товар", "3 товара", "5 товаров", "11 товаров", "21 товар", "22 товара",
        ]
    with translation.override("en"):
        assert [admin_count(products, n) for n in (1, 3)] == ["1 product", "3 products"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_product_list_its_search_and_the_delete_action_count_right(client, settings, language):
    settings.LANGUAGE_CODE = language
    client.force_login(User.objects.create_superuser("admin", password="pw"))
    products = [Product.objects.create(onec_id=f"g{n}", name=f"Мяч {n}") for n in range(3)]
    for n in range(5):
        Category.objects.create(onec_id=f"c{n}", name=f"Группа {n}")
    three, two, five_groups, deleted = {
        "ru": ("3 товара", "2 товара", "5 групп товаров", "Удалено: 2 товара."),
        "en": ("3 products", "2 products", "5 goods groups", "Successfully deleted 2 products."),
    }[language]

    with translation.override(language):
        listing = client.get(PRODUCTS).content.decode()
        searched = client.get(GROUPS, {"q": "Группа 1"}).content.decode()
        selected = {"action": "delete_selected", "_selected_action": [product.pk for product in products[:2]]}
        confirmation = client.post(PRODUCTS, selected).content.decode()
        done = client.post(PRODUCTS, {**selected, "post": "yes"}, follow=True).content.decode()

    assert f"\n{three}\n" in listing  # the paginator's count
    assert {"ru": f"всего {five_groups}", "en": f"{five_groups} in all"}[language] in searched
    assert {"ru": f"Вы уверены, что хотите удалить {two}?", "en": f"delete the selected {two}?"}[language] in confirmation
    assert deleted in done and list(Product.objects.values_list("onec_id", flat=True)) == ["g2"]
    for wrong in ("3 товары", "2 товары", "товары."):
        assert wrong not in listing + searched + confirmation + done


@pytest.mark.django_db
@pytest.mark.parametrize("language, select_all", [("ru", "Выбрать все: 5 товаров"), ("en", "Select all 5 products")])
def test_select_all_across_the_pages_counts_right(client, settings, monkeypatch, language, select_all):
    """The action bar's «select all» link (config/templates/admin/actions.html) shows when the
    list has more than one page."""
    settings.LANGUAGE_CODE = language
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)
    client.force_login(User.objects.create_superuser("admin", password="pw"))
    for n in range(5):
        Product.objects.create(onec_id=f"g{n}", name=f"Мяч {n}")

    with translation.override(language):
        listing = client.get(PRODUCTS).content.decode()

    assert f">{select_all}</a>" in listing
    assert "5 товары" not in listing
