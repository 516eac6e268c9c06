from django.contrib import admin

from .models import Category, Price, PriceType, Product, ProductVariant, Stock, Warehouse


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["onec_id", "name", "article", "brand", "category", "is_active", "main_image"]
    list_filter = ["is_active"]
    search_fields = ["onec_id", "name", "article", "brand"]
    raw_id_fields = ["category"]


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
