from django.contrib import admin
from django.core.files.storage import default_storage
from django.db.models import Prefetch
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy as _

from apps.media.models import StoredImage

from .models import Category, Price, PriceType, Product, ProductVariant, Stock, Warehouse
from .selectors import ProductPicture, product_pictures


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Products with their pictures shown as pictures. 1C owns the pictures: the import
    sets them, so the product page shows them read-only instead of their file names."""

    list_display = ["thumbnail", "onec_id", "name", "article", "brand", "category", "is_active"]
    list_display_links = ["thumbnail", "onec_id"]
    list_filter = ["is_active"]
    search_fields = ["onec_id", "name", "article", "brand"]
    raw_id_fields = ["category"]
    exclude = ["main_image", "gallery_images", "onec_picture_paths"]
    readonly_fields = ["pictures"]

    class Media:
        css = {"all": ["products/product_pictures.css"]}

    def get_queryset(self, request):
        # The list's thumbnails are the main images' smallest renditions: one query for all rows.
        return super().get_queryset(request).prefetch_related(
            Prefetch("stored_images", queryset=StoredImage.objects.only("id", "name", "renditions"))
        )

    @admin.display(description=_("Photo"))
    def thumbnail(self, product):
        if not product.main_image:
            return "—"
        record = next((row for row in product.stored_images.all() if row.name == product.main_image.name), None)
        smallest = min(record.renditions, key=lambda entry: entry["width"], default=None) if record else None
        return format_html(
            '<img class="product-thumbnail" src="{}" alt="" width="48" height="48" loading="lazy">',
            default_storage.url(smallest["name"]) if smallest else product.main_image.url,
        )

    @admin.display(description=_("Images (from 1C, in order)"))
    def pictures(self, product):
        pictures = product_pictures(product=product)
        if not pictures:
            return gettext("No images: 1C sent no <Картинка>, or the image import has not run yet.")
        return format_html('<ol class="product-pictures">{}</ol>', format_html_join("", "{}", ((
            _picture_item(picture),) for picture in pictures)))


def _picture_item(picture: ProductPicture) -> str:
    """One picture of the strip: a thumbnail (its smallest rendition, else the photo), its
    role, pixels, size, file in the exchange and its renditions, each a link."""
    thumbnail = picture.renditions[0].url if picture.renditions else picture.url
    renditions = format_html_join(
        "",
        '<li><a href="{}" target="_blank" rel="noopener">{} {} × {}</a> {}</li>',
        ((r.url, r.format.upper(), r.width, r.height, filesizeformat(r.size)) for r in picture.renditions),
    ) or format_html(
        "<li>{}</li>", gettext("no web versions (not made yet, or they failed: see the import's errors)")
    )
    return format_html(
        '<li class="product-picture product-picture--{}"><a href="{}" target="_blank" rel="noopener">'
        '<img src="{}" alt="" loading="lazy"></a><div class="product-picture__caption">'
        "<strong>{}</strong><br>{}<br>{}<br><code>{}</code>"
        '<ul class="product-picture__renditions">{}</ul></div></li>',
        picture.role,
        picture.url,
        thumbnail,
        gettext("Main") if picture.role == "main" else gettext("Gallery %(number)s") % {"number": picture.position + 1},
        f"{picture.width} × {picture.height} px" if picture.width else gettext("size in pixels unknown"),
        filesizeformat(picture.stored_size) if picture.stored_size is not None else "",
        picture.source_name or picture.name,
        renditions,
    )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["onec_id", "name", "parent", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["onec_id", "name"]
    raw_id_fields = ["parent"]


@admin.register(ProductVariant)
class ProductVariantAdmin(admin.ModelAdmin):
    list_display = ["onec_id", "name", "product", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["onec_id", "name"]
    raw_id_fields = ["product"]


@admin.register(PriceType)
class PriceTypeAdmin(admin.ModelAdmin):
    list_display = ["onec_id", "name", "currency", "is_active"]


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ["offer_onec_id", "price_type", "value", "currency"]
    list_filter = ["price_type"]
    search_fields = ["offer_onec_id"]
    raw_id_fields = ["product", "variant"]


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["onec_id", "name", "is_active"]


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ["offer_onec_id", "warehouse", "quantity"]
    list_filter = ["warehouse"]
    search_fields = ["offer_onec_id"]
    raw_id_fields = ["product", "variant"]
