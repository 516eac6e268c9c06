"""Which products still lack pictures: the product list's filters (photos, photo errors of
an image import, group, brand), the image session page's links to them, and a list whose
number of queries does not grow with the number of products. The photos and their errors
come from the real image import, recorded into its session as the flow records them."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.imports.models import ImportSession
from apps.imports.services.images_import import product_images_import_chunk
from apps.imports.services import sessions
from apps.products.models import Category, Product, SitePhoto
from apps.products.services import site_photo_add, site_photo_process
from tests.admin.browser import admin_page, screenshot
from tests.conftest import make_image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """The page's words are checked in English, the site's other language."""
    settings.LANGUAGE_CODE = "en"
LIST_URL = "/admin/products/product/"


def image_import_session(exchange, products: list[Product], *, dry_run: bool = False) -> ImportSession:
    """An ended image import of `products`: one chunk run by the image service and recorded
    into a session, as the images flow does."""
    session = sessions.import_session_create(import_type="images", started_by="cli")
    sessions.import_session_start(session_id=session.pk)
    sessions.import_session_update_report(session_id=session.pk, total_products=len(products), dry_run=dry_run)
    result = product_images_import_chunk(product_ids=[p.pk for p in products], images_dir=exchange.images_dir)
    sessions.import_session_record_chunk(
        session_id=session.pk, chunk_index=0, counters=result.counters(), error_details=result.error_rows()
    )
    return sessions.import_session_complete(session_id=session.pk)


def product_with_photo(exchange, guid: str, **fields) -> Product:
    return Product.objects.create(onec_id=guid, onec_picture_paths=[exchange.add_image(guid)], **fields)


@pytest.fixture
def catalog(exchange, media_root) -> dict:
    """Balls (Adidas, a photo), a net in the gallery only (Nike), a glove whose listed photo
    is missing on disk (Nike), a whistle that 1C gave no photo and no brand."""
    balls = Category.objects.create(onec_id="g-balls", name="Мячи")
    nets = Category.objects.create(onec_id="g-nets", name="Сетки")
    Category.objects.create(onec_id="g-empty", name="Пустая группа")
    ball = product_with_photo(exchange, "aa000001", name="Мяч", brand="Adidas", category=balls)
    net = Product.objects.create(
        onec_id="bb000002", name="Сетка", brand="Nike", category=nets, gallery_images=["products/bb/bb000002_1.jpg"]
    )
    glove = Product.objects.create(
        onec_id="cc000003", name="Перчатка", brand="Nike", category=balls,
        onec_picture_paths=["import_files/cc/cc000003_gone.jpg"],
    )
    whistle = Product.objects.create(onec_id="dd000004", name="Свисток")
    session = image_import_session(exchange, [ball, glove, whistle])
    return {"ball": ball, "net": net, "glove": glove, "whistle": whistle, "balls": balls, "session": session}


@pytest.fixture
def boss(client, db):
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    return client


def listed(client, query: str) -> list[str]:
    response = client.get(f"{LIST_URL}?{query}")
    assert response.status_code == 200, query
    return sorted(product.name for product in response.context["cl"].result_list)


def test_the_photo_filters_find_products_with_a_main_photo_and_without_any(boss, catalog):
    assert catalog["session"].report.errors == 1
    assert listed(boss, "photos=main") == ["Мяч"]
    assert listed(boss, "photos=none") == ["Перчатка", "Свисток"]  # the net has a gallery photo
    assert listed(boss, "") == ["Мяч", "Перчатка", "Свисток", "Сетка"]


def site_photo(product: Product, *, data: bytes | None = None) -> SitePhoto:
    """A photo added on the site, processed by the service its Prefect run calls: ready,
    or refused when `data` is not an image."""
    photo = site_photo_add(product_id=product.pk, data=data or make_image_bytes(), filename="lifestyle.jpg")
    return site_photo_process(photo_id=photo.pk)


def test_photos_added_on_the_site_count_as_photos(boss, catalog):
    """A product with only the site's photos has a photo, and its first is the main one
    while 1C sends none; a photo still processing or refused is not shown, so not counted."""
    assert site_photo(catalog["whistle"]).status == SitePhoto.Status.READY
    assert site_photo(catalog["net"]).status == SitePhoto.Status.READY  # after 1C's gallery: not the main one
    corrupt = make_image_bytes()[:40]  # a JPEG's header, then nothing: refused when decoded
    assert site_photo(catalog["glove"], data=corrupt).status == SitePhoto.Status.REFUSED
    cone = Product.objects.create(onec_id="ee000005", name="Конус")
    site_photo_add(product_id=cone.pk, data=make_image_bytes(), filename="cone.jpg")  # still processing

    assert listed(boss, "photos=none") == ["Конус", "Перчатка"]
    assert listed(boss, "photos=main") == ["Мяч", "Свисток"]
    assert listed(boss, "photos=none&brand=Nike") == ["Перчатка"]


def test_photo_errors_of_the_last_image_import_and_of_one_session(boss, catalog, exchange):
    first = catalog["session"]
    assert listed(boss, "photo_errors=last") == ["Перчатка"]
    assert listed(boss, f"photo_errors={first.pk}") == ["Перчатка"]

    # A later import whose photo of the whistle is missing too: now the last one.
    Product.objects.filter(pk=catalog["whistle"].pk).update(onec_picture_paths=["import_files/dd/dd000004_gone.jpg"])
    second = image_import_session(exchange, [catalog["whistle"]])
    assert listed(boss, "photo_errors=last") == ["Свисток"]
    assert listed(boss, f"photo_errors={first.pk}") == ["Перчатка"]

    # A dry run wrote nothing: it is not "the last image import".
    Product.objects.filter(pk=catalog["ball"].pk).update(onec_picture_paths=["import_files/aa/aa000001_gone.jpg"])
    dry_run = image_import_session(exchange, [catalog["ball"]], dry_run=True)
    assert listed(boss, "photo_errors=last") == ["Свисток"]
    assert listed(boss, f"photo_errors={dry_run.pk}") == ["Мяч"]

    page = boss.get(f"{LIST_URL}?photo_errors={first.pk}").content.decode()
    assert f"#{second.pk}" in page and f"#{first.pk}" in page  # "the last" names its session; the chosen one too


def test_without_an_ended_image_import_the_errors_filter_finds_nothing(boss, db):
    Product.objects.create(onec_id="ee000005", name="Конус")
    running = sessions.import_session_create(import_type="images", started_by="cli")
    sessions.import_session_start(session_id=running.pk)

    assert listed(boss, "photo_errors=last") == []


def test_a_malformed_errors_filter_is_refused_not_ignored(boss, catalog):
    response = boss.get(f"{LIST_URL}?photo_errors=everything")
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_group_and_brand_filters_offer_only_what_products_have(boss, catalog):
    assert listed(boss, f"category__id__exact={catalog['balls'].pk}") == ["Мяч", "Перчатка"]
    assert listed(boss, "brand=Nike") == ["Перчатка", "Сетка"]
    assert listed(boss, "brand=-") == ["Свисток"]
    assert listed(boss, "brand=Nike&photos=none") == ["Перчатка"]

    filters = {spec.title: [choice["display"] for choice in spec.choices(boss.get(LIST_URL).context["cl"])]
               for spec in boss.get(LIST_URL).context["cl"].filter_specs}
    assert filters["brand"][1:] == ["Adidas", "Nike", "No brand"]  # after "All"
    groups = next(choices for title, choices in filters.items() if "Мячи" in choices)
    assert "Сетки" in groups and "Пустая группа" not in groups


def group_choices(client, query: str = "") -> list[str]:
    changelist = client.get(f"{LIST_URL}?{query}").context["cl"]
    spec = next(spec for spec in changelist.filter_specs if spec.title == "group")
    return [choice["display"] for choice in spec.choices(changelist)][1:]  # after "All"


def test_a_group_lists_the_products_of_its_sub_groups_too(boss, catalog):
    """Sport > (Balls of the fixture, which gets Football > Indoor) and Winter: a group
    chosen lists its subtree's products; a parent without products of its own is a choice."""
    sport = Category.objects.create(onec_id="g-sport", name="Спорт")
    balls = catalog["balls"]
    Category.objects.filter(pk=balls.pk).update(parent=sport)
    football = Category.objects.create(onec_id="g-football", name="Футбол", parent=balls)
    indoor = Category.objects.create(onec_id="g-indoor", name="Футзал", parent=football)
    winter = Category.objects.create(onec_id="g-winter", name="Зима", parent=sport)
    Product.objects.create(onec_id="ff000001", name="Бутсы", category=football)
    Product.objects.create(onec_id="ff000002", name="Мяч для футзала", category=indoor)
    Product.objects.create(onec_id="ff000003", name="Лыжи", category=winter)

    assert listed(boss, f"category__id__exact={sport.pk}") == [
        "Бутсы", "Лыжи", "Мяч", "Мяч для футзала", "Перчатка",
    ]
    assert listed(boss, f"category__id__exact={balls.pk}") == ["Бутсы", "Мяч", "Мяч для футзала", "Перчатка"]
    assert listed(boss, f"category__id__exact={indoor.pk}") == ["Мяч для футзала"]
    assert listed(boss, f"category__id__exact={balls.pk}&photos=none") == [
        "Бутсы", "Мяч для футзала", "Перчатка",
    ]
    assert listed(boss, "category__isnull=True") == ["Свисток"]
    # the tree, parents first, siblings by name; the empty group is not offered
    assert group_choices(boss) == ["Сетки", "Спорт", "— Зима", "— Мячи", "— — Футбол", "— — — Футзал", "-"]
    assert group_choices(boss, "_facets=True")[:4] == ["Сетки (1)", "Спорт (5)", "— Зима (1)", "— Мячи (4)"]
    assert boss.get(f"{LIST_URL}?category__id__exact=sport").status_code == 302  # refused: ?e=1


def test_a_deeper_group_tree_costs_the_group_filter_no_more_queries(boss, catalog):
    def queries(query: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert boss.get(f"{LIST_URL}?{query}").status_code == 200
        return len(captured)

    top = catalog["balls"]
    before = {"all": queries(""), "chosen": queries(f"category__id__exact={top.pk}")}
    parent = top
    for depth in range(8):
        parent = Category.objects.create(onec_id=f"g-depth-{depth}", name=f"Уровень {depth}", parent=parent)
        Product.objects.create(onec_id=f"ff1000{depth:02d}", name=f"Товар {depth}", category=parent)
    after = {"all": queries(""), "chosen": queries(f"category__id__exact={top.pk}")}

    assert len(listed(boss, f"category__id__exact={top.pk}")) == 2 + 8
    assert after == before and after["chosen"] <= 10, (before, after)


def test_the_image_session_page_links_to_products_without_photos_and_with_its_errors(boss, catalog):
    session = catalog["session"]
    page = boss.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()

    assert f'href="{LIST_URL}?photos=none"' in page
    assert f'href="{LIST_URL}?photo_errors={session.pk}"' in page
    assert listed(boss, f"photo_errors={session.pk}") == ["Перчатка"]


def test_a_session_without_errors_links_only_to_products_without_photos(boss, catalog, exchange):
    clean = image_import_session(exchange, [catalog["ball"]])
    page = boss.get(reverse("admin:integrations_importsession_change", args=[clean.pk])).content.decode()

    assert f'href="{LIST_URL}?photos=none"' in page and "photo_errors=" not in page
    catalog_session = sessions.import_session_create(import_type="catalog", started_by="cli")
    page = boss.get(reverse("admin:integrations_importsession_change", args=[catalog_session.pk])).content.decode()
    assert "?photos=none" not in page


def test_the_list_costs_the_same_queries_for_4_products_and_for_35(boss, catalog, exchange):
    """The thumbnails, every filter and the search: no query per product (no N+1)."""
    queries = [
        "", "photos=main", "photos=none", f"photo_errors={catalog['session'].pk}", "photo_errors=last",
        f"category__id__exact={catalog['balls'].pk}", "category__isnull=True", "brand=Nike", "q=Мяч", "q=Мяч&photos=main&brand=Adidas",
        "_facets=True",  # "show counts": one count per choice, in one query per filter
    ]

    def count_queries() -> dict[str, int]:
        counts = {}
        for query in queries:
            with CaptureQueriesContext(connection) as captured:
                assert boss.get(f"{LIST_URL}?{query}").status_code == 200
            counts[query] = len(captured)
        return counts

    before = count_queries()
    more = [
        product_with_photo(exchange, f"ff{n:06d}", name=f"Мяч {n}", brand=f"Brand {n % 5}", category=catalog["balls"])
        for n in range(30)
    ] + [Product.objects.create(onec_id="ff999999", name="Мяч без фото", onec_picture_paths=["import_files/ff/gone.jpg"])]
    image_import_session(exchange, more)  # now the last image import, with an error of its own
    assert Product.objects.exclude(main_image="").count() == 31

    after = count_queries()
    assert after == before, {query: (before[query], after[query]) for query in queries if before[query] != after[query]}
    assert after.pop("_facets=True") <= 34 and max(after.values()) <= 12, after


@pytest.mark.browser
def test_a_browser_narrows_the_list_with_the_filters_and_follows_the_session_page(
    live_server, catalog, settings, monkeypatch
):
    """Headless Chromium at 1366 px: the sidebar's filter links, combined, and the image
    session page's link to its products with errors (links found by their addresses, so
    the test reads the same in any language); the screenshot is kept."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.ROOT_URLCONF = "tests.admin.media_urls"

    def follow(page, link: str) -> None:
        with page.expect_navigation():
            page.click(link)

    def names(page) -> list[str]:
        return sorted(page.eval_on_selector_all("#result_list tbody tr .field-name", "cells => cells.map(c => c.textContent)"))

    with admin_page(live_server.url) as page:
        page.goto(f"{live_server.url}{LIST_URL}")
        everything = names(page)
        follow(page, '#changelist-filter a[href="?photos=none"]')
        without_photos = names(page)
        follow(page, '#changelist-filter a[href="?brand=Nike&photos=none"]')
        without_photos_by_nike = names(page)
        screenshot(page, "admin-product-list-filters.png")

        session = catalog["session"]
        page.goto(f"{live_server.url}/admin/integrations/importsession/{session.pk}/change/")
        follow(page, f'.import-session-products a[href$="?photo_errors={session.pk}"]')
        with_errors = names(page)
        chosen = page.eval_on_selector_all("#changelist-filter li.selected a", "links => links.map(a => a.href)")

    assert everything == ["Мяч", "Перчатка", "Свисток", "Сетка"]
    assert without_photos == ["Перчатка", "Свисток"]
    assert without_photos_by_nike == ["Перчатка"]
    assert with_errors == ["Перчатка"]
    assert any(href.endswith(f"?photo_errors={session.pk}") for href in chosen)
