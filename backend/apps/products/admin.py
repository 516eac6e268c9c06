from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Prefetch, Value
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext, gettext_lazy as _, ngettext_lazy
from django.views.decorators.http import require_POST

from apps.media.models import StoredImage

from .admin_filters import PRODUCT_LIST_FILTERS
from .models import (
    PRODUCT_COUNT,
    PRODUCT_SEARCHED_FIELDS,
    SEARCH_TEXT_SEPARATOR,
    Category,
    Price,
    PriceType,
    Product,
    ProductVariant,
    SitePhoto,
    Stock,
    Warehouse,
)
from .selectors import ProductPicture, product_pictures
from .services import site_photo_delete, site_photo_move

ONEC_FIELDS_NOTE = _(
    "1C manages these fields: every exchange writes them, so they are read-only here. Change them in 1C."
)


class OneCOwnedAdmin(admin.ModelAdmin):
    """A row 1C owns: on its page the fields the exchange writes (`onec_fields`) are
    read-only under a note saying 1C manages them; the site's own (`site_fields`) stay
    editable. The add page (a row made by hand) keeps its fields as they were."""

    onec_fields: tuple[str, ...] = ()
    site_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        return fields + [name for name in self.onec_fields if name not in fields]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        fieldsets = [(_("From 1C"), {"fields": self.onec_fields, "description": ONEC_FIELDS_NOTE})]
        if self.site_fields:
            fieldsets.append((_("The site's own"), {"fields": self.site_fields}))
        return fieldsets


@admin.register(Product)
class ProductAdmin(OneCOwnedAdmin):
    """Products with their pictures shown as pictures. 1C owns its fields and photos (the
    import writes them); the site owns `on_site` and the photos added by hand, managed in
    a section below the form (their upload asks Prefect for a run, so it is a view of the
    imports app: config.admin.ShopAdminSite)."""

    count_name = PRODUCT_COUNT

    list_display = ["thumbnail", "onec_id", "name", "article", "brand", "category", "is_active", "on_site"]
    list_display_links = ["thumbnail", "onec_id"]
    list_filter = ["is_active", "on_site", *PRODUCT_LIST_FILTERS]
    list_select_related = ["category"]  # a nullable key: Django's default would not join it
    # A page of rows is most of the list's server time (bench/product_list.py); a filtered
    # list says "N results" without counting the whole catalog again.
    list_per_page = 50
    show_full_result_count = False
    search_fields = list(PRODUCT_SEARCHED_FIELDS)  # searched in Product.search_text: get_search_results
    raw_id_fields = ["category"]
    exclude = ["main_image", "gallery_images", "onec_picture_paths"]
    readonly_fields = ["pictures"]
    onec_fields = ("onec_id", "name", "article", "description", "category", "brand", "brand_onec_id", "is_active",
                   "synced_at")
    site_fields = ("on_site",)

    class Media:
        css = {"all": ["products/product_pictures.css"]}
        js = ["products/site_photos.js"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        return [*super().get_fieldsets(request, obj), (_("On the storefront"), {"fields": ["pictures"]})]

    def get_queryset(self, request):
        # The list's thumbnails are the main images' smallest renditions: one query for all
        # rows, and one for the site's photos that are main while 1C sends none.
        return super().get_queryset(request).prefetch_related(
            Prefetch("stored_images", queryset=StoredImage.objects.only("id", "name", "renditions")),
            Prefetch(
                "site_photos",
                queryset=SitePhoto.objects.filter(status=SitePhoto.Status.READY).select_related("image")
                .only("id", "product_id", "position", "image__name", "image__renditions").order_by("position", "id"),
                to_attr="ready_site_photos",
            ),
        )

    def get_search_results(self, request, queryset, search_term):
        """Django's search of `search_fields` (every term, quoted or not, in one of the fields,
        case aside), in the one upper-cased column that holds them all: the same products
        for a fraction of the database's work. A term holding the column's separator is
        searched Django's way."""
        terms = [
            unescape_string_literal(bit) if bit.startswith(('"', "'")) and bit[0] == bit[-1] else bit
            for bit in smart_split(search_term)
        ]
        if any(SEARCH_TEXT_SEPARATOR in term for term in terms):
            return super().get_search_results(request, queryset, search_term)
        for term in terms:
            queryset = queryset.filter(GreaterThan(StrIndex("search_text", Upper(Value(term))), 0))
        return queryset, False

    @admin.display(description=_("Photo"))
    def thumbnail(self, product):
        if product.main_image:
            name = product.main_image.name
            record = next((row for row in product.stored_images.all() if row.name == name), None)
        elif product.ready_site_photos and not product.gallery_images:
            record = product.ready_site_photos[0].image
            name = record.name
        else:
            return "—"
        smallest = min(record.renditions, key=lambda entry: entry["width"], default=None) if record else None
        return format_html(
            '<img class="product-thumbnail" src="{}" alt="" width="48" height="48" loading="lazy">',
            default_storage.url(smallest["name"] if smallest else name),
        )

    @admin.display(description=_("Pictures, in the storefront's order"))
    def pictures(self, product):
        pictures = product_pictures(product=product)
        if not pictures:
            return gettext("No pictures: 1C sent no <Картинка>, the image import has not run yet, and no photo was "
                           "added on the site.")
        return format_html('<ol class="product-pictures">{}</ol>', format_html_join("", "{}", ((
            _picture_item(picture),) for picture in pictures)))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        product = self.get_object(request, object_id)
        if product is not None:
            photos = list(product.site_photos.select_related("image").order_by("position", "id"))
            for photo in photos:  # ready: its smallest rendition, else the photo itself
                smallest = min(photo.image.renditions, key=lambda entry: entry["width"], default=None)
                photo.thumbnail_url = (
                    default_storage.url(smallest["name"] if smallest else photo.image.name)
                    if photo.status == SitePhoto.Status.READY else ""
                )
            extra_context = {
                **(extra_context or {}),
                "site_photos": photos,
                "site_photos_editable": self.has_change_permission(request, product),
                # Its retry button only while a photo waits for its run.
                "site_photos_waiting": any(photo.status == SitePhoto.Status.PROCESSING for photo in photos),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- the site's own photos: order and removal (upload: apps.imports.views) ---

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("site-photos/<int:photo_id>/move/", wrap(require_POST(self.site_photo_move_view)),
                 name="products_product_site_photo_move"),
            path("site-photos/<int:photo_id>/delete/", wrap(require_POST(self.site_photo_delete_view)),
                 name="products_product_site_photo_delete"),
            *super().get_urls(),
        ]

    def _editable_photo(self, request, photo_id: int) -> SitePhoto:
        photo = get_object_or_404(SitePhoto.objects.select_related("product", "image"), pk=photo_id)
        if not self.has_change_permission(request, photo.product):
            raise PermissionDenied
        return photo

    def _back_to_product(self, photo: SitePhoto):
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:products_product_change", args=[photo.product_id]) + "#site-photos"
        )

    def site_photo_move_view(self, request, photo_id):
        photo = self._editable_photo(request, photo_id)
        site_photo_move(photo_id=photo.pk, step=-1 if request.POST.get("direction") == "up" else 1)
        return self._back_to_product(photo)

    def site_photo_delete_view(self, request, photo_id):
        photo = self._editable_photo(request, photo_id)
        site_photo_delete(photo_id=photo.pk)
        self.message_user(request, _("Photo “%(file)s” removed.") % {"file": photo}, messages.SUCCESS)
        return self._back_to_product(photo)


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
        '<li class="product-picture product-picture--{} product-picture--from-{}"><a href="{}" target="_blank" '
        'rel="noopener"><img src="{}" alt="" loading="lazy"></a><div class="product-picture__caption">'
        "<strong>{}</strong> · {}<br>{}<br>{}<br><code>{}</code>"
        '<ul class="product-picture__renditions">{}</ul></div></li>',
        picture.role,
        picture.source,
        picture.url,
        thumbnail,
        gettext("Main") if picture.role == "main" else gettext("Gallery %(number)s") % {"number": picture.position + 1},
        gettext("from 1C") if picture.source == "1c" else gettext("added on the site"),
        f"{picture.width} × {picture.height} px" if picture.width else gettext("size in pixels unknown"),
        filesizeformat(picture.stored_size) if picture.stored_size is not None else "",
        picture.source_name or picture.name,
        renditions,
    )


@admin.register(Category)
class CategoryAdmin(OneCOwnedAdmin):
    count_name = ngettext_lazy("%(count)s goods group", "%(count)s goods groups", "count")
    list_display = ["onec_id", "name", "parent", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["onec_id", "name"]
    raw_id_fields = ["parent"]
    onec_fields = ("onec_id", "name", "parent", "is_active", "synced_at")


@admin.register(ProductVariant)
class ProductVariantAdmin(OneCOwnedAdmin):
    count_name = ngettext_lazy("%(count)s product variant", "%(count)s product variants", "count")
    list_display = ["onec_id", "name", "product", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["onec_id", "name"]
    raw_id_fields = ["product"]
    onec_fields = ("onec_id", "product", "name", "article", "characteristics", "is_active", "synced_at")


@admin.register(PriceType)
class PriceTypeAdmin(OneCOwnedAdmin):
    count_name = ngettext_lazy("%(count)s price type", "%(count)s price types", "count")
    list_display = ["onec_id", "name", "currency", "is_active"]
    onec_fields = ("onec_id", "name", "currency", "is_active", "synced_at")


@admin.register(Price)
class PriceAdmin(OneCOwnedAdmin):
    count_name = ngettext_lazy("%(count)s price", "%(count)s prices", "count")
    list_display = ["offer_onec_id", "price_type", "value", "currency"]
    list_filter = ["price_type"]
    search_fields = ["offer_onec_id"]
    raw_id_fields = ["product", "variant"]
    onec_fields = ("offer_onec_id", "product", "variant", "price_type", "value", "currency", "synced_at")


@admin.register(Warehouse)
class WarehouseAdmin(OneCOwnedAdmin):
    count_name = ngettext_lazy("%(count)s warehouse", "%(count)s warehouses", "count")
    list_display = ["onec_id", "name", "is_active"]
    onec_fields = ("onec_id", "name", "is_active", "synced_at")


@admin.register(Stock)
class StockAdmin(OneCOwnedAdmin):
    count_name = ngettext_lazy("%(count)s stock", "%(count)s stocks", "count")
    list_display = ["offer_onec_id", "warehouse", "quantity"]
    onec_fields = ("offer_onec_id", "product", "variant", "warehouse", "quantity", "synced_at")
    list_filter = ["warehouse"]
    search_fields = ["offer_onec_id"]
    raw_id_fields = ["product", "variant"]
