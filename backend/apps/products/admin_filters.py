"""The product list's filters: which products still lack pictures, and by group and brand.

Each costs the list at most one query of its own (its choices), whatever the number of
products; the photo errors of an image import are a filter of the imports app
(apps.imports.admin), which knows the sessions."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .selectors import product_photo_conditions


class PhotoListFilter(admin.SimpleListFilter):
    """Products by their pictures, 1C's and the site's own (ready ones, as the storefront
    shows them): a main photo, or none at all."""

    title = _("photos")
    parameter_name = "photos"
    WITH_MAIN = "main"
    NONE = "none"

    def lookups(self, request, model_admin):
        return [(self.WITH_MAIN, _("Has a main photo")), (self.NONE, _("No photo at all"))]

    def queryset(self, request, queryset):
        has_main, has_none = product_photo_conditions()
        if self.value() == self.WITH_MAIN:
            return queryset.filter(has_main)
        if self.value() == self.NONE:
            return queryset.filter(has_none)
        return queryset


class BrandListFilter(admin.SimpleListFilter):
    """Products by brand: the brands 1C sent, in alphabetical order, and "no brand"."""

    title = _("brand")
    parameter_name = "brand"
    NO_BRAND = "-"  # not a brand name 1C would send on its own

    def lookups(self, request, model_admin):
        brands = model_admin.model.objects.exclude(brand="").order_by("brand").values_list("brand", flat=True)
        return [(brand, brand) for brand in brands.distinct()] + [(self.NO_BRAND, _("No brand"))]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(brand="" if self.value() == self.NO_BRAND else self.value())


PRODUCT_LIST_FILTERS = [PhotoListFilter, ("category", admin.RelatedOnlyFieldListFilter), BrandListFilter]
