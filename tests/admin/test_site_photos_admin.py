"""1C's fields and the site's own on the catalog's admin pages: what the exchange writes is
read-only under a note, `on_site` and the photos added by hand stay the admin's. A browser
uploads two photos, reorders them, and finds them in order after a mirror image import and
a full exchange with deactivate (a screenshot goes to test-artifacts/)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.urls import reverse
from django.utils.html import escape

from apps.imports.options import ImageImportOptions
from apps.imports.services.images_import import product_images_import_chunk
from apps.imports.services.record_import import exchange_import_file, exchange_remove_absent
from apps.products.admin import ONEC_FIELDS_NOTE
from apps.products.models import Category, Price, PriceType, Product, ProductVariant, SitePhoto, Stock, Warehouse
from commerceml import writer as cml
from tests.admin.browser import admin_page, screenshot
from tests.admin.conftest import run_site_photo_runs
from tests.conftest import make_image_bytes

GUID = "0a1b2c3d-0000-0000-0000-0000000000a1"
GONE = "0a1b2c3d-0000-0000-0000-0000000000a2"
RUN_1 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RUN_2 = RUN_1 + timedelta(hours=1)


def change_page(client, model, pk) -> str:
    response = client.get(reverse(f"admin:products_{model._meta.model_name}_change", args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_product_page_shows_1cs_fields_read_only_with_a_note_and_keeps_on_site_editable(admin_client):
    product = Product.objects.create(onec_id=GUID, name="Мяч", article="B-1", brand="Espado")

    page = change_page(admin_client, Product, product.pk)

    assert escape(str(ONEC_FIELDS_NOTE)) in page
    for field in ("onec_id", "name", "article", "description", "category", "brand", "brand_onec_id", "is_active"):
        assert f'name="{field}"' not in page, field
    assert 'name="on_site"' in page and "Espado" in page and "B-1" in page

    response = admin_client.post(
        reverse("admin:products_product_change", args=[product.pk]), {"name": "Переименован", "is_active": ""}
    )  # on_site unticked; the rest is what a forged form could send

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.is_active, product.on_site) == ("Мяч", True, False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "onec_fields"),
    [
        (ProductVariant, ["onec_id", "product", "name", "article", "characteristics", "is_active"]),
        (Category, ["onec_id", "name", "parent", "is_active"]),
        (PriceType, ["onec_id", "name", "currency", "is_active"]),
        (Warehouse, ["onec_id", "name", "is_active"]),
        (Price, ["offer_onec_id", "product", "variant", "price_type", "value", "currency"]),
        (Stock, ["offer_onec_id", "product", "variant", "warehouse", "quantity"]),
    ],
)
def test_variant_group_price_and_stock_pages_show_1cs_fields_read_only_with_a_note(admin_client, model, onec_fields):
    product = Product.objects.create(onec_id=GUID, name="Мяч")
    rows = {
        ProductVariant: lambda: ProductVariant.objects.create(onec_id=f"{GUID}#s", product=product, name="Мяч, S"),
        Category: lambda: Category.objects.create(onec_id="g", name="Мячи"),
        PriceType: lambda: PriceType.objects.create(onec_id="retail", name="Розница", currency="RUB"),
        Warehouse: lambda: Warehouse.objects.create(onec_id="w", name="Склад"),
        Price: lambda: Price.objects.create(offer_onec_id=GUID, product=product, value=Decimal("10.00"),
                                            price_type=PriceType.objects.create(onec_id="retail", name="Розница")),
        Stock: lambda: Stock.objects.create(offer_onec_id=GUID, product=product, quantity=Decimal("3")),
    }

    page = change_page(admin_client, model, rows[model]().pk)

    assert escape(str(ONEC_FIELDS_NOTE)) in page
    assert [field for field in onec_fields if f'name="{field}"' in page] == []
    add_page = admin_client.get(reverse(f"admin:products_{model._meta.model_name}_add")).content.decode()
    assert all(f'name="{field}"' in add_page for field in onec_fields if field not in ("product", "variant")), (
        "a row made by hand keeps its fields"
    )


@pytest.mark.django_db
def test_who_may_only_view_products_sees_the_sites_photos_but_cannot_change_them(client, media_root):
    from django.contrib.auth.models import Permission, User

    from apps.products.services import site_photo_add

    product = Product.objects.create(onec_id=GUID, name="Мяч")
    photo = site_photo_add(product_id=product.pk, data=make_image_bytes(), filename="lifestyle.jpg")
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_product"))
    client.force_login(viewer)

    page = change_page(client, Product, product.pk)
    answers = [
        client.post(reverse("admin:products_product_site_photo_upload", args=[product.pk]),
                    {"photos": [SimpleUploadedFile("a.jpg", make_image_bytes())]}).status_code,
        client.post(reverse("admin:products_product_site_photo_move", args=[photo.pk]), {"direction": "up"}).status_code,
        client.post(reverse("admin:products_product_site_photo_delete", args=[photo.pk])).status_code,
    ]

    assert 'data-file="lifestyle.jpg"' in page and "site-photo__delete" not in page and 'name="photos"' not in page
    assert answers == [403, 403, 403]
    assert list(SitePhoto.objects.values_list("image__source_name", flat=True)) == ["lifestyle.jpg"]


def full_goods(exchange, *goods: cml.Goods):
    return cml.write_file(exchange.goods_dir, "goods.xml", cml.CommerceMLWriter().goods(goods, only_changes=False))


@pytest.mark.browser
def test_a_browser_adds_two_photos_reorders_them_and_no_import_moves_them(
    live_server, site_photo_deployment, media_root, exchange, settings, monkeypatch, client
):
    """Headless Chromium on the product page as an admin uses it; 1C's imports run between."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.ROOT_URLCONF = "tests.admin.media_urls"
    front, back = exchange.add_image(GUID, "front", color=(200, 0, 0)), exchange.add_image(GUID, "back", color=(0, 200, 0))
    exchange_import_file(kind="goods", sync_mark=RUN_1, path=full_goods(
        exchange, cml.Goods(GUID, "Мяч", article="B-1", pictures=[front, back]), cml.Goods(GONE, "Сетка")))
    product = Product.objects.get(onec_id=GUID)
    product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir)
    url = f"{live_server.url}/admin/products/product/{product.pk}/change/"

    with admin_page(live_server.url) as page:
        page.goto(url)
        read_only = page.eval_on_selector_all(
            "fieldset .readonly", "cells => cells.map(cell => cell.textContent.trim())"
        )
        editable = page.eval_on_selector_all("form#product_form input, form#product_form select, form#product_form textarea",
                                             "inputs => inputs.map(input => input.name).filter(Boolean)")
        page.set_input_files("#site-photos-files", [
            {"name": "lifestyle.jpg", "mimeType": "image/jpeg", "buffer": make_image_bytes(size=(640, 480), color=(20, 90, 200))},
            {"name": "size-chart.png", "mimeType": "image/png", "buffer": make_image_bytes(size=(300, 400), fmt="PNG")},
        ])
        with page.expect_navigation():
            page.click(".site-photos__submit")
        processing = page.eval_on_selector_all(".site-photo", "items => items.map(i => [i.dataset.file, i.className])")

        run_site_photo_runs(site_photo_deployment)  # the worker's part
        page.reload()
        with page.expect_navigation():
            page.click(".site-photo:first-child .site-photo__down")
        reordered = page.eval_on_selector_all(".site-photo", "items => items.map(i => i.dataset.file)")

        # 1C's next image import mirrors a new list, then a full exchange with deactivate.
        new = exchange.add_image(GUID, "new", color=(0, 0, 200))
        Product.objects.filter(pk=product.pk).update(onec_picture_paths=[new, front])
        product_images_import_chunk(product_ids=[product.pk], images_dir=exchange.images_dir,
                                    options=ImageImportOptions(mirror=True, verify_storage=True))
        exchange_import_file(kind="goods", sync_mark=RUN_2, path=full_goods(
            exchange, cml.Goods(GUID, "Мяч", article="B-1", pictures=[new, front])))
        assert exchange_remove_absent(kind="goods", sync_mark=RUN_2) == {"absent": 1}
        page.reload()
        page.wait_for_load_state("networkidle")
        after = page.eval_on_selector_all(".site-photo", "items => items.map(i => [i.dataset.file, i.className])")
        widths = page.eval_on_selector_all(".site-photo img", "images => images.map(i => i.naturalWidth)")
        strip = page.eval_on_selector_all(".product-picture", "items => items.map(i => i.className)")
        page.evaluate("window.scrollTo(0, 0)")  # the sticky sidebar at the top of the full-page shot
        screenshot(page, "admin-product-site-photos.png")
        # The queries above ran in Playwright's greenlet, on a connection of its own.
        connections.close_all()

    assert {"Мяч", "B-1", GUID} <= set(read_only)
    assert "name" not in editable and "article" not in editable and "on_site" in editable
    assert processing == [["lifestyle.jpg", "site-photo site-photo--processing"],
                          ["size-chart.png", "site-photo site-photo--processing"]]
    assert reordered == ["size-chart.png", "lifestyle.jpg"]
    assert after == [["size-chart.png", "site-photo site-photo--ready"], ["lifestyle.jpg", "site-photo site-photo--ready"]]
    assert widths == [300, 320], "each thumbnail (its smallest rendition) was loaded"
    assert [name.split()[1:] for name in strip] == [
        ["product-picture--main", "product-picture--from-1c"], ["product-picture--gallery", "product-picture--from-1c"],
        ["product-picture--gallery", "product-picture--from-site"], ["product-picture--gallery", "product-picture--from-site"],
    ]
    images = client.get(f"/api/products/{GUID}/images/").json()["images"]
    assert [(image["role"], image["position"], image["source"]) for image in images] == [
        ("main", 0, "1c"), ("gallery", 0, "1c"), ("gallery", 1, "site"), ("gallery", 2, "site"),
    ]
    assert images[0]["url"].endswith(f"{GUID}_new.jpg") and images[1]["url"].endswith(f"{GUID}_front.jpg")
    assert [(image["width"], image["height"]) for image in images[2:]] == [(300, 400), (640, 480)]
    assert SitePhoto.objects.filter(product=product, status="ready").count() == 2


def _file_chooser_by_key(page, selector: str, key: str, *, presses: int = 3):
    """The file dialog that `key` opens on the focused input. In two full CI runs of four a
    loaded Chromium opened none for the first press within 30 s (and always did alone): as a
    person would, the key is pressed again, at most `presses` times."""
    from playwright.sync_api import TimeoutError as NoDialog

    for press in range(1, presses + 1):
        page.focus(selector)
        try:
            with page.expect_file_chooser(timeout=10_000) as opened:
                page.keyboard.press(key)
            return opened.value
        except NoDialog:
            if press == presses:
                raise


_INPUT_HOLDS = "count => document.getElementById('site-photos-files').files.length === count"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_upload_button_speaks_the_sites_language_and_names_the_chosen_files(live_server, settings, monkeypatch,
                                                                                 language):
    """Chromium's own file button says "Choose Files" in the browser's language: the input is
    hidden to the eye, our label is its button (a click and the keyboard both open the file
    dialog), and the chosen files are named beside it."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.LANGUAGE_CODE = language
    product = Product.objects.create(onec_id=GUID, name="Мяч")
    files = [
        {"name": "lifestyle.jpg", "mimeType": "image/jpeg", "buffer": make_image_bytes()},
        {"name": "size-chart.png", "mimeType": "image/png", "buffer": make_image_bytes(fmt="PNG")},
    ]

    with admin_page(live_server.url) as page:
        page.goto(f"{live_server.url}/admin/products/product/{product.pk}/change/")
        button, none_chosen = page.inner_text(".site-photos__choose"), page.inner_text(".site-photos__chosen")
        hidden_input = page.locator("#site-photos-files").bounding_box()
        with page.expect_file_chooser() as clicked:
            page.click(".site-photos__choose")
        clicked.value.set_files(files)
        # The first dialog is done once the input holds its files (under load, a key pressed
        # before that opened no second dialog).
        page.wait_for_function(_INPUT_HOLDS, arg=len(files))
        chosen = page.inner_text(".site-photos__chosen")
        _file_chooser_by_key(page, "#site-photos-files", "Space").set_files(files[1:])
        page.wait_for_function(_INPUT_HOLDS, arg=1)
        chosen_again = page.inner_text(".site-photos__chosen")
        page.locator(".site-photos").scroll_into_view_if_needed()
        screenshot(page, f"admin-product-upload-{language}.png")
        connections.close_all()

    assert button == {"ru": "Выбрать фото…", "en": "Choose photos…"}[language]
    assert none_chosen == {"ru": "фото не выбраны", "en": "no photo chosen"}[language]
    assert hidden_input["width"] <= 1 and hidden_input["height"] <= 1
    assert (chosen, chosen_again) == ("lifestyle.jpg, size-chart.png", "size-chart.png")
