from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path, re_path
from django.views.generic import RedirectView

from apps.onec_exchange.views import exchange_1c_view
from apps.products.api import product_images_view
from config.health import healthz_view

urlpatterns = [
    # The 1C exchange log's admin pages were under the integrations app before it became an
    # app of its own: old bookmarks and links keep working.
    re_path(
        r"^admin/integrations/(?P<page>(?:exchange1c|exchangefile|exchangeimport)/.*)$",
        RedirectView.as_view(url="/admin/onec_exchange/%(page)s", permanent=True, query_string=True),
    ),
    # The refused logins were the exchange's before the admin's login shared their lock-out.
    re_path(
        r"^admin/(?:integrations|onec_exchange)/exchangeauthfailure/(?P<page>.*)$",
        RedirectView.as_view(url="/admin/access/loginfailure/%(page)s", permanent=True, query_string=True),
    ),
    path("admin/", admin.site.urls),
    # The 1C site exchange (docs/connecting-1c.md): 1C calls it with and without the slash.
    path("1c/exchange", exchange_1c_view),
    path("1c/exchange/", exchange_1c_view, name="integrations_exchange_1c"),
    path("api/products/<str:onec_id>/images/", product_images_view, name="products_product_images"),
    # For load balancers and monitoring (docs/operations.md, "Health checks"); exempt from the HTTPS redirect.
    path("healthz", healthz_view, name="healthz"),
] + static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
