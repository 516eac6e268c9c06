from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path

from apps.products.api import product_images_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/products/<str:onec_id>/images/", product_images_view, name="products_product_images"),
] + static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
