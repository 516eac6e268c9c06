from django.contrib import admin

from .models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["onec_id", "name", "article", "is_active", "main_image"]
    list_filter = ["is_active"]
    search_fields = ["onec_id", "name", "article"]
