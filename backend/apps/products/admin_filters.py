"""The product list's filters: which products still lack pictures, by group (sub-groups
included) and by brand.

Each costs the list at most one query of its own (its choices), whatever the number of
products; the photo errors of an image import are a filter of the imports app
(apps.imports.admin), which knows the sessions."""
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models
from django.utils.translation import gettext_lazy as _

from .selectors import category_tree, product_photo_conditions


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


class GroupListFilter(admin.RelatedFieldListFilter):
    """Products by group, sub-groups included: choosing a group lists the products of its
    whole subtree. The choices are the groups with products in their subtree, as a tree; the
    tree is one query (CategoryTree), whatever its depth. Keeps the address of Django's own
    group filter (`category__id__exact`, `category__isnull`)."""

    def field_choices(self, field, request, model_admin):
        self.tree = category_tree()
        return self.tree.choices()

    def queryset(self, request, queryset):
        if self.lookup_val is None:
            return super().queryset(request, queryset)  # all, or the products without a group
        try:
            chosen = {int(value) for value in self.lookup_val}
        except ValueError as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset.filter(category_id__in=self.tree.subtree_ids(chosen))

    def get_facet_counts(self, pk_attname, filtered_qs):
        counts = super().get_facet_counts(pk_attname, filtered_qs)
        for group_id, _name in self.lookup_choices:
            counts[f"{group_id}__c"] = models.Count(
                pk_attname, filter=models.Q(category_id__in=self.tree.subtree_ids([group_id]))
            )
        return counts


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


PRODUCT_LIST_FILTERS = [PhotoListFilter, ("category", GroupListFilter), BrandListFilter]
