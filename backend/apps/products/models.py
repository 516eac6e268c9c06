from django.db import models
from django.utils.translation import gettext_lazy as _


class SyncedFromOneC(models.Model):
    """A row 1C owns. `synced_at` is the mark of the last import run that wrote it: after a
    full exchange (СодержитТолькоИзменения="false") rows without the run's mark are gone
    from 1C and are deactivated or removed."""

    onec_id = models.CharField("ID в 1С", max_length=255, unique=True)
    synced_at = models.DateTimeField("синхронизирован", null=True, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Category(SyncedFromOneC):
    """A 1C goods group (<Группа>); groups form a tree."""

    name = models.CharField("название", max_length=500, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children", verbose_name="родитель"
    )
    is_active = models.BooleanField("активна", default=True, db_index=True)

    class Meta:
        verbose_name = "группа товаров"
        verbose_name_plural = "группы товаров"
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id


class Product(SyncedFromOneC):
    """A 1C goods item (<Товар>) as the site shows it; its offers are ProductVariants."""

    onec_id = models.CharField(
        "ID в 1С",
        max_length=255,
        unique=True,
        help_text="GUID товара из 1С; его предложения с характеристиками — варианты товара.",
    )
    name = models.CharField("название", max_length=500, blank=True)
    article = models.CharField("артикул", max_length=255, blank=True)
    description = models.TextField("описание", blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products", verbose_name="группа"
    )
    brand = models.CharField("бренд", max_length=255, blank=True, help_text="Название бренда, если 1С его передала.")
    brand_onec_id = models.CharField(
        "ID бренда в 1С", max_length=255, blank=True, help_text="Ссылка на бренд, как её передала 1С."
    )
    is_active = models.BooleanField("активен", default=True, db_index=True)
    main_image = models.ImageField("основное изображение", upload_to="products/", max_length=500, blank=True)
    gallery_images = models.JSONField(
        "галерея", default=list, blank=True, help_text="Имена файлов в медиа-хранилище, по порядку."
    )
    onec_picture_paths = models.JSONField(
        "картинки в 1С",
        default=list,
        blank=True,
        help_text="Пути <Картинка> из последнего импорта каталога, в порядке 1С (первая — основная).",
    )
    # The site's own switch: no import writes it. The storefront shows a product only when
    # 1C keeps it active and this is on (selectors.products_on_storefront).
    on_site = models.BooleanField(
        _("on the site"), default=True, db_index=True,
        help_text=_("The site's own switch: off hides the product from the storefront. 1C never changes it; "
                    "a product 1C deactivates stays hidden whatever it says."),
    )

    class Meta:
        verbose_name = "товар"
        verbose_name_plural = "товары"
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
    processing_run_id = models.UUIDField(_("Prefect flow run processing it"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo added on the site")
        verbose_name_plural = _("photos added on the site")
        ordering = ["position", "id"]

    def __str__(self):
        return self.image.source_name or self.image.name


class ProductVariant(SyncedFromOneC):
    """A 1C offer with a characteristic (`goodsGUID#characteristicGUID`): a size, a color."""

    onec_id = models.CharField("ID предложения в 1С", max_length=255, unique=True, help_text="goodsGUID#characteristicGUID")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants", verbose_name="товар")
    name = models.CharField("название", max_length=500, blank=True)
    article = models.CharField("артикул", max_length=255, blank=True)
    characteristics = models.JSONField(
        "характеристики", default=list, blank=True, help_text='[{"name": ..., "value": ...}] в порядке 1С.'
    )
    is_active = models.BooleanField("активен", default=True, db_index=True)

    class Meta:
        verbose_name = "вариант товара"
        verbose_name_plural = "варианты товаров"
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id


class PriceType(SyncedFromOneC):
    """A 1C price type (<ТипЦены>): retail, wholesale 1, ..."""

    name = models.CharField("название", max_length=255, blank=True)
    currency = models.CharField("валюта", max_length=16, blank=True)
    is_active = models.BooleanField("активен", default=True, db_index=True)

    class Meta:
        verbose_name = "тип цены"
        verbose_name_plural = "типы цен"
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id


class OfferRow(models.Model):
    """A value 1C sends per offer: `offer_onec_id` is the offer id as sent (goods id, or
    goods#characteristic); `variant` is set once that offer is a known variant."""

    offer_onec_id = models.CharField("ID предложения в 1С", max_length=255, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name="товар")
    variant = models.ForeignKey(
        ProductVariant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="вариант"
    )
    synced_at = models.DateTimeField("синхронизирован", null=True, blank=True, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Price(OfferRow):
    price_type = models.ForeignKey(PriceType, on_delete=models.CASCADE, related_name="prices", verbose_name="тип цены")
    value = models.DecimalField("цена за единицу", max_digits=18, decimal_places=2)
    currency = models.CharField("валюта", max_length=16, blank=True)

    class Meta:
        verbose_name = "цена"
        verbose_name_plural = "цены"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["offer_onec_id", "price_type"], name="unique_price_per_offer_and_type")]

    def __str__(self):
        return f"{self.offer_onec_id}: {self.value} {self.currency}"


class Warehouse(SyncedFromOneC):
    """A 1C warehouse (<Склад> of storages/)."""

    name = models.CharField("название", max_length=255, blank=True)
    is_active = models.BooleanField("активен", default=True, db_index=True)

    class Meta:
        verbose_name = "склад"
        verbose_name_plural = "склады"
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id


class Stock(OfferRow):
    """Quantity of an offer in a warehouse; without a warehouse, the offer's total when
    1C sends no per-warehouse split (CommerceML 2.x <Количество>)."""

    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.CASCADE, related_name="stocks", verbose_name="склад"
    )
    quantity = models.DecimalField("количество", max_digits=18, decimal_places=3)

    class Meta:
        verbose_name = "остаток"
        verbose_name_plural = "остатки"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["offer_onec_id", "warehouse"], name="unique_stock_per_offer_and_warehouse"),
            models.UniqueConstraint(
                fields=["offer_onec_id"], condition=models.Q(warehouse__isnull=True), name="unique_total_stock_per_offer"
            ),
        ]

    def __str__(self):
        return f"{self.offer_onec_id}: {self.quantity}"
