"""Photos in media storage and their web renditions: what the image import wrote, as facts
that spare the next run from reading files or asking the storage."""
from django.db import models


class StoredImage(models.Model):
    """A photo in media storage as the image import last wrote or checked it.

    The next run compares the source file's size and mtime with these facts and, when
    they match, neither reads the file nor asks the storage anything. `sha256` empty: the
    facts are not known yet (a row the upgrade made for a picture products already showed);
    the first run fills them without rewriting identical objects. `products` are the
    products that show it (main image or gallery), kept with their image fields in one
    transaction: mirror mode deletes an object only when no product is left. `renditions`
    are its web versions, named by `sha256` (rows with the same bytes share them), made for
    `renditions_spec`: while that equals the configured spec nothing is decoded again.
    Photos added on the site have rows too, under `site-photos/` and without `products`
    links: the import never lists, links or deletes them, and their renditions count as in
    use like any row's."""

    name = models.CharField("имя в медиа-хранилище", max_length=500, unique=True)
    source_name = models.CharField("файл в import_files", max_length=500, blank=True)
    source_size = models.BigIntegerField("размер исходного файла", null=True, blank=True)
    source_mtime_ns = models.BigIntegerField("время изменения исходного файла, нс", null=True, blank=True)
    sha256 = models.CharField("SHA-256 содержимого", max_length=64, blank=True, db_index=True)
    stored_size = models.BigIntegerField("размер в хранилище", null=True, blank=True)
    etag = models.CharField("ETag в хранилище", max_length=100, blank=True)
    width = models.PositiveIntegerField("ширина", null=True, blank=True)
    height = models.PositiveIntegerField("высота", null=True, blank=True)
    content_type = models.CharField("тип содержимого", max_length=100, blank=True)
    renditions_spec = models.CharField(
        "веб-версии сделаны по", max_length=500, blank=True,
        help_text="ONEC_IMAGE_RENDITIONS (с версией кодировщика), по которому сделаны веб-версии; "
                  "пусто — ещё не сделаны или не получились.",
    )
    renditions = models.JSONField(
        "веб-версии", default=list, blank=True,
        help_text='[{"spec": "webp:800", "format": "webp", "width": ..., "height": ..., "name": ..., "size": ...}]',
    )
    products = models.ManyToManyField("products.Product", related_name="stored_images", blank=True, verbose_name="товары")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "изображение в хранилище"
        verbose_name_plural = "изображения в хранилище"
        ordering = ["id"]
        db_table = "products_storedimage"  # the table the products app made: no row moves

    def __str__(self):
        return self.name
