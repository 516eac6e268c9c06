"""A StoredImage row, without facts yet, for every picture products already show, linked to
those products: from the upgrade on, "does another product still show this file" is
answered by the rows. The first image import after the upgrade fills in the facts without
rewriting objects that are already there and identical."""
from django.db import migrations

BATCH = 2000


def backfill(apps, schema_editor):
    Product = apps.get_model("products", "Product")
    StoredImage = apps.get_model("products", "StoredImage")
    Link = StoredImage.products.through
    batch = []
    rows = Product.objects.order_by("id").values_list("id", "main_image", "gallery_images")
    for row in rows.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            _link(batch, StoredImage, Link)
            batch = []
    if batch:
        _link(batch, StoredImage, Link)


def _link(rows, StoredImage, Link):
    shown = {product_id: {name for name in [main or "", *(gallery or [])] if name} for product_id, main, gallery in rows}
    names = set().union(*shown.values())
    if not names:
        return
    StoredImage.objects.bulk_create([StoredImage(name=name) for name in sorted(names)], ignore_conflicts=True)
    ids = dict(StoredImage.objects.filter(name__in=names).values_list("name", "id"))
    Link.objects.bulk_create(
        [Link(product_id=product_id, storedimage_id=ids[name]) for product_id, names in shown.items() for name in names],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("products", "0003_stored_image")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
