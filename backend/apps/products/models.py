from django.db import models


class Product(models.Model):
    """A 1C goods item (or an offer of one) as the site shows it."""

    onec_id = models.CharField(
        "ID в 1С",
        max_length=255,
        unique=True,
        help_text="GUID товара из 1С, или goodsGUID#characteristicGUID для предложения.",
    )
    name = models.CharField("название", max_length=500, blank=True)
    article = models.CharField("артикул", max_length=255, blank=True)
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "товар"
        verbose_name_plural = "товары"
        ordering = ["id"]

    def __str__(self):
        return f"{self.name or self.onec_id}"

    @property
    def goods_guid(self) -> str:
        """The goods GUID: an offer id `goods#characteristic` shares its goods' photos."""
        return self.onec_id.split("#", 1)[0]
