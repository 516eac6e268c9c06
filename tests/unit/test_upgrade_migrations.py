"""An install made before the layout split (products, integrations, customers only) upgrades
with `migrate` and keeps every row, the permissions its groups had, and the storefront.

The database is taken back to the last migrations of that release, filled through the
models as they were then, and migrated forward; the checks read through today's models."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.customers.models import Counterparty
from apps.imports.models import ImportChunk, ImportSession
from apps.media.models import StoredImage
from apps.access.models import LoginFailure
from apps.onec_exchange.models import Exchange1C, ExchangeFile, ExchangeImport
from apps.onec_exchange.services.messages import result_lines
from apps.products.models import Product

# The leaf migrations of the release before apps/media and apps/onec_exchange existed.
BEFORE_THE_SPLIT = [
    ("products", "0005_stored_image_renditions"),
    ("integrations", "0005_exchange_file_from_archive"),
    ("customers", "0001_initial"),
    ("media", None),
    ("onec_exchange", None),
    ("access", None),
]
PRODUCT = "0e5a1c2d-0000-4000-8000-000000000001"
OLD_PERMISSIONS = [
    ("integrations", "start_import"),
    ("integrations", "exchange_1c"),
    ("integrations", "view_exchange1c"),
    ("integrations", "view_exchangeauthfailure"),
    ("products", "view_storedimage"),
    ("products", "change_product"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([node for node in targets if node[1]]).apps


def _fill_the_old_release(old) -> dict:
    """Rows as the old release's models wrote them; returns the ids to look for."""
    product = old.get_model("products", "Product").objects.create(
        onec_id=PRODUCT, name="Кроссовки", main_image="products/0e/a.jpg", gallery_images=["products/0e/b.jpg"],
        onec_picture_paths=["import_files/0e/a.jpg", "import_files/0e/b.jpg"],
    )
    stored = old.get_model("products", "StoredImage")
    pictures = [
        stored.objects.create(name=name, sha256=str(n) * 64, stored_size=100 + n, width=640, height=480,
                              content_type="image/jpeg", renditions=[])
        for n, name in enumerate(["products/0e/a.jpg", "products/0e/b.jpg"])
    ]
    for picture in pictures:
        picture.products.add(product)
    session = old.get_model("integrations", "ImportSession").objects.create(
        import_type="images", status="completed", started_by="cli", running_slot=None,
        report_details={"total_products": 1, "processed": 1, "copied": 2, "errors": 0},
    )
    old.get_model("integrations", "ImportChunk").objects.create(session=session, index=0, counters={"copied": 2})
    exchange = old.get_model("integrations", "Exchange1C").objects.create(
        exchange_type="catalog", token="t" * 64, client_ip="127.0.0.1"
    )
    old.get_model("integrations", "ExchangeFile").objects.create(exchange=exchange, name="goods.xml",
                                                                 path="goods/goods.xml", size=10)
    exchange_import = old.get_model("integrations", "ExchangeImport").objects.create(
        exchange=exchange, filename="goods/goods.xml", path="goods/goods.xml", import_types=["catalog"],
        status="completed", message="«Product catalog» #1: created: 1\nImages not run: no pictures",
    )
    exchange_import.sessions.add(session)
    old.get_model("integrations", "ExchangeAuthFailure").objects.create(client_ip="10.0.0.1", username="x",
                                                                        reason="wrong password")
    old.get_model("customers", "Counterparty").objects.create(onec_id="c-1", name="ООО Ромашка", inn="7700000000")
    # What the old release's post_migrate left: content types under the old app labels.
    assert ContentType.objects.filter(app_label="products", model="storedimage").exists()
    assert ContentType.objects.filter(app_label="integrations", model="exchange1c").exists()
    group = Group.objects.create(name="Контент-менеджеры")
    permission = old.get_model("auth", "Permission")
    group.permissions.set([
        permission.objects.get(content_type__app_label=app, codename=codename).pk for app, codename in OLD_PERMISSIONS
    ])
    user = User.objects.create_user("manager", password="pw", is_staff=True)
    user.groups.add(group)
    return {"product": product.pk, "session": session.pk, "exchange": exchange.pk,
            "pictures": [p.pk for p in pictures], "picture_type": ContentType.objects.get(model="storedimage").pk}


@pytest.mark.django_db(transaction=True)
def test_an_install_from_before_the_split_migrates_and_keeps_every_row(client):
    old = _migrate(BEFORE_THE_SPLIT)
    ids = _fill_the_old_release(old)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    product = Product.objects.get(onec_id=PRODUCT)
    assert product.pk == ids["product"] and product.main_image.name == "products/0e/a.jpg"
    assert sorted(StoredImage.objects.values_list("pk", flat=True)) == ids["pictures"]
    assert [p.onec_id for p in StoredImage.objects.get(name="products/0e/b.jpg").products.all()] == [PRODUCT]
    assert StoredImage.objects.get(name="products/0e/a.jpg").stored_size == 100
    session = ImportSession.objects.get(pk=ids["session"])
    assert session.report_details["copied"] == 2 and ImportChunk.objects.get(session=session).counters == {"copied": 2}
    exchange = Exchange1C.objects.get(pk=ids["exchange"])
    assert [f.path for f in ExchangeFile.objects.filter(exchange=exchange)] == ["goods/goods.xml"]
    assert list(ExchangeImport.objects.get(exchange=exchange).sessions.all()) == [session]
    # What 1C was told before the exchange kept its texts as messages reads as it was stored.
    exchange_import = ExchangeImport.objects.get(exchange=exchange)
    assert result_lines(exchange_import) == ["«Product catalog» #1: created: 1", "Images not run: no pictures"]
    assert exchange_import.progress is None
    assert list(session.exchange_imports.values_list("filename", flat=True)) == ["goods/goods.xml"]
    refused = LoginFailure.objects.get()  # the exchange's refused logins, now the lock-out's
    assert (refused.reason, refused.entry) == ("wrong password", LoginFailure.Entry.EXCHANGE_1C)
    assert Counterparty.objects.get().inn == "7700000000"
    # The content types moved with their models (same rows), and with them the groups' rights.
    assert ContentType.objects.get_for_model(StoredImage).pk == ids["picture_type"]
    assert not ContentType.objects.filter(app_label="products", model="storedimage").exists()
    assert not ContentType.objects.filter(app_label="integrations", model__startswith="exchange").exists()
    manager = User.objects.get(username="manager")
    assert {
        "integrations.start_import", "integrations.exchange_1c", "onec_exchange.view_exchange1c",
        "access.view_loginfailure", "media.view_storedimage", "products.change_product",
    } <= manager.get_all_permissions()

    answer = client.get(f"/api/products/{PRODUCT}/images/").json()
    assert [(image["role"], image["url"]) for image in answer["images"]] == [
        ("main", "/media/products/0e/a.jpg"), ("gallery", "/media/products/0e/b.jpg")
    ]
    client.force_login(manager)
    assert client.get("/admin/onec_exchange/exchange1c/").status_code == 200
    assert client.get("/admin/integrations/exchange1c/", follow=True).redirect_chain == [
        ("/admin/onec_exchange/exchange1c/", 301)
    ]
    assert client.get("/admin/access/loginfailure/").status_code == 200
    for old_address in ("/admin/integrations/exchangeauthfailure/", "/admin/onec_exchange/exchangeauthfailure/"):
        assert client.get(old_address, follow=True).redirect_chain == [("/admin/access/loginfailure/", 301)]
