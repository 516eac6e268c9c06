from django.db import models
from django.db.models.functions import Concat, Upper
from django.utils.translation import gettext_lazy as _, ngettext_lazy

from apps.i18n.messages import message_text


class SyncedFromOneC(models.Model):
    """A row 1C owns. `synced_at` is the mark of the last import run that wrote it: after a
    full exchange (СодержитТолькоИзменения="false") rows without the run's mark are gone
    from 1C and are deactivated or removed."""

    onec_id = models.CharField(_("1C ID"), max_length=255, unique=True)
    synced_at = models.DateTimeField(_("synced"), null=True, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Category(SyncedFromOneC):
    """A 1C goods group (<Группа>); groups form a tree."""

    name = models.CharField(_("name"), max_length=500, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children", verbose_name=_("parent")
    )
    is_active = models.BooleanField(_("active"), default=True, db_index=True)

    class Meta:
        verbose_name = _("goods group")
        verbose_name_plural = _("goods groups")
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id


# The fields the product admin's search looks in, and what separates them in
# Product.search_text: a character no field holds, so no term matches across two fields.
PRODUCT_SEARCHED_FIELDS = ("onec_id", "name", "article", "brand")
SEARCH_TEXT_SEPARATOR = "\x1f"

# How a count of products is said («1 товар», «3 товара», «5 товаров»): the admin's lists
# (ProductAdmin.count_name) and the import page's last catalog summary read it.
PRODUCT_COUNT = ngettext_lazy("%(count)s product", "%(count)s products", "count")


class Product(SyncedFromOneC):
    """A 1C goods item (<Товар>) as the site shows it; its offers are ProductVariants."""

    onec_id = models.CharField(
        _("1C ID"),
        max_length=255,
        unique=True,
        help_text=_("The goods' GUID in 1C; its offers with characteristics are the product's variants."),
    )
    name = models.CharField(_("name"), max_length=500, blank=True)
    article = models.CharField(_("article"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products", verbose_name=_("group")
    )
    brand = models.CharField(_("brand"), max_length=255, blank=True, help_text=_("The brand's name, if 1C sent it."))
    brand_onec_id = models.CharField(
        _("1C brand ID"), max_length=255, blank=True, help_text=_("The reference to the brand, as 1C sent it.")
    )
    is_active = models.BooleanField(_("active"), default=True, db_index=True)
    main_image = models.ImageField(_("main image"), upload_to="products/", max_length=500, blank=True)
    gallery_images = models.JSONField(
        _("gallery"), default=list, blank=True, help_text=_("File names in media storage, in order.")
    )
    onec_picture_paths = models.JSONField(
        _("pictures in 1C"),
        default=list,
        blank=True,
        help_text=_("The <Картинка> paths of the last catalog import, in 1C's order (the first is the main one)."),
    )
    # The site's own switch: no import writes it. The storefront shows a product only when
    # 1C keeps it active and this is on (selectors.products_on_storefront).
    on_site = models.BooleanField(
        _("on the site"), default=True, db_index=True,
        help_text=_("The site's own switch: off hides the product from the storefront. 1C never changes it; "
                    "a product 1C deactivates stays hidden whatever it says."),
    )

    # What the admin's search looks in, stored upper-cased in one column the database keeps
    # up to date: one substring test per term and row instead of an UPPER() of each field
    # (bench/product_list.py).
    search_text = models.GeneratedField(
        expression=Upper(Concat(*(
            part for name in PRODUCT_SEARCHED_FIELDS for part in (models.Value(SEARCH_TEXT_SEPARATOR), models.F(name))
        ), output_field=models.TextField())),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["id"]

    def __str__(self):
        return f"{self.name or self.onec_id}"


class SitePhoto(models.Model):
    """A photo an admin added to a product by hand: the site's own, which no import writes,
    reorders or deletes. The storefront shows it after 1C's photos once a Prefect run has
    decoded it and made its renditions (`status` ready); its bytes and facts are a
    StoredImage row like 1C's photos, under SITE_PHOTO_PREFIX."""

    class Status(models.TextChoices):
        PROCESSING = "processing", _("processing")
        READY = "ready", _("ready")
        REFUSED = "refused", _("refused")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="site_photos", verbose_name=_("product"))
    image = models.ForeignKey(
        "media.StoredImage", on_delete=models.PROTECT, related_name="site_photos", verbose_name=_("stored image")
    )
    position = models.PositiveIntegerField(_("position among the site's photos"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PROCESSING)
    refusal_reason = models.TextField(_("why it was refused"), blank=True)
    # The reason as a stored apps.i18n Message (English text and parameters), so it reads in
    # the site's language of the moment; empty for photos refused before: refusal_reason is shown.
    refusal_reason_translatable = models.JSONField(default=dict, blank=True, editable=False)
    processing_run_id = models.UUIDField(_("Prefect flow run processing it"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo added on the site")
        verbose_name_plural = _("photos added on the site")
        ordering = ["position", "id"]

    def __str__(self):
        return self.image.source_name or self.image.name

    @property
    def refusal_reason_text(self) -> str:
        """Why it was refused, in the site's language (as stored, for photos refused before)."""
        return message_text(self.refusal_reason_translatable or self.refusal_reason)


class ProductVariant(SyncedFromOneC):
    """A 1C offer with a characteristic (`goodsGUID#characteristicGUID`): a size, a color."""

    onec_id = models.CharField(_("1C offer ID"), max_length=255, unique=True, help_text="goodsGUID#characteristicGUID")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants", verbose_name=_("product"))
    name = models.CharField(_("name"), max_length=500, blank=True)
    article = models.CharField(_("article"), max_length=255, blank=True)
    characteristics = models.JSONField(
        _("characteristics"), default=list, blank=True, help_text=_("[{\"name\": ..., \"value\": ...}] in 1C's order.")
    )
    is_active = models.BooleanField(_("active"), default=True, db_index=True)

    class Meta:
        verbose_name = _("product variant")
        verbose_name_plural = _("product variants")
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id


class PriceType(SyncedFromOneC):
    """A 1C price type (<ТипЦены>): retail, wholesale 1, ..."""

    name = models.CharField(_("name"), max_length=255, blank=True)
    currency = models.CharField(_("currency"), max_length=16, blank=True)
    is_active = models.BooleanField(_("active"), default=True, db_index=True)

    class Meta:
        verbose_name = _("price type")
        verbose_name_plural = _("price types")
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id


class OfferRow(models.Model):
    """A value 1C sends per offer: `offer_onec_id` is the offer id as sent (goods id, or
    goods#characteristic); `variant` is set once that offer is a known variant."""

    offer_onec_id = models.CharField(_("1C offer ID"), max_length=255, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name=_("product"))
    variant = models.ForeignKey(
        ProductVariant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("variant")
    )
    synced_at = models.DateTimeField(_("synced"), null=True, blank=True, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Price(OfferRow):
    price_type = models.ForeignKey(PriceType, on_delete=models.CASCADE, related_name="prices", verbose_name=_("price type"))
    value = models.DecimalField(_("price per unit"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["offer_onec_id", "price_type"], name="unique_price_per_offer_and_type")]

    def __str__(self):
        return f"{self.offer_onec_id}: {self.value} {self.currency}"


class Warehouse(SyncedFromOneC):
    """A 1C warehouse (<Склад> of storages/)."""

    name = models.CharField(_("name"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True, db_index=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id


class Stock(OfferRow):
    """Quantity of an offer in a warehouse; without a warehouse, the offer's total when
    1C sends no per-warehouse split (CommerceML 2.x <Количество>)."""

    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.CASCADE, related_name="stocks", verbose_name=_("warehouse")
    )
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=3)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stocks")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["offer_onec_id", "warehouse"], name="unique_stock_per_offer_and_warehouse"),
            models.UniqueConstraint(
                fields=["offer_onec_id"], condition=models.Q(warehouse__isnull=True), name="unique_total_stock_per_offer"
            ),
        ]

    def __str__(self):
        return f"{self.offer_onec_id}: {self.quantity}"
