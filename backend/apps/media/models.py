"""Photos in media storage and their web renditions: what the image import wrote, as facts
that spare the next run from reading files or asking the storage."""
from django.db import models
from django.utils.translation import gettext_lazy as _


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

    name = models.CharField(_("name in media storage"), max_length=500, unique=True)
    source_name = models.CharField(_("file in import_files"), max_length=500, blank=True)
    source_size = models.BigIntegerField(_("source file size"), null=True, blank=True)
    source_mtime_ns = models.BigIntegerField(_("source file modification time, ns"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256 of the content"), max_length=64, blank=True, db_index=True)
    stored_size = models.BigIntegerField(_("size in storage"), null=True, blank=True)
    etag = models.CharField(_("ETag in storage"), max_length=100, blank=True)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    renditions_spec = models.CharField(
        _("web versions made for"), max_length=500, blank=True,
        help_text=_(
            "ONEC_IMAGE_RENDITIONS (with the encoder version) the web versions were made for; "
            "empty: not made yet, or they failed."
        ),
    )
    renditions = models.JSONField(
        _("web versions"), default=list, blank=True,
        help_text='[{"spec": "webp:800", "format": "webp", "width": ..., "height": ..., "name": ..., "size": ...}]',
    )
    products = models.ManyToManyField("products.Product", related_name="stored_images", blank=True, verbose_name=_("products"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("stored image")
        verbose_name_plural = _("stored images")
        ordering = ["id"]
        db_table = "products_storedimage"  # the table the products app made: no row moves

    def __str__(self):
        return self.name
