"""The project's admin site: Django's, plus the 1C import page at /admin/integrations/import_1c/ and
the upload of a product's own photos (both start Prefect runs)."""
from django.apps import apps
from django.contrib import admin
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_noop

from apps.access.forms import LockOutAdminAuthenticationForm
from apps.imports.models import START_IMPORT_PERMISSION

from .admin_counts import delete_selected

# Django's admin builds these titles by putting a model's name into a sentence, which in
# Russian reads wrong for most names ("Выберите цена для изменения"). The project's
# catalogue, read before Django's, says each in a form any name fits ("Выбор для изменения:
# цена"); marked here so that `makemessages` keeps them in it.
ADMIN_TITLES_WITH_A_NAME = (
    gettext_noop("Select %s to change"), gettext_noop("Select %s to view"), gettext_noop("Add %s"),
    gettext_noop("Change %s"), gettext_noop("View %s"), gettext_noop("Add %(name)s"),
)


class ShopAdminSite(admin.AdminSite):
    login_form = LockOutAdminAuthenticationForm  # the lock-out of addresses that fail too often

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_action(delete_selected, "delete_selected")  # Django's, its counts in the model's plural forms

    def get_urls(self):
        from apps.imports.views import import_1c_view, site_photo_upload_view

        return [
            path(
                "integrations/import_1c/",
                self.admin_view(import_1c_view),
                name="integrations_importsession_import_1c",
            ),
            # On the product page, but it asks Prefect for a run: a view of the imports app.
            path(
                "products/product/<int:product_id>/site-photos/upload/",
                self.admin_view(site_photo_upload_view),
                name="products_product_site_photo_upload",
            ),
            *super().get_urls(),
        ]

    def get_app_list(self, request, app_label=None):
        """Show the import page in the "1C integration" section to those who may use it."""
        app_list = super().get_app_list(request, app_label)
        if app_label not in (None, "integrations") or not request.user.has_perm(START_IMPORT_PERMISSION):
            return app_list
        page_url = reverse(f"{self.name}:integrations_importsession_import_1c")
        section = next((app for app in app_list if app["app_label"] == "integrations"), None)
        if section is None:
            section = {
                "name": apps.get_app_config("integrations").verbose_name,
                "app_label": "integrations",
                "app_url": page_url,
                "has_module_perms": True,
                "models": [],
            }
            app_list = sorted([*app_list, section], key=lambda app: app["name"].lower())
        section["models"].insert(
            0,
            {
                "name": gettext("Start an import from 1C"),
                "object_name": "Import1C",
                "admin_url": page_url,
                "add_url": None,
                "view_only": True,
                "perms": {"view": True},
            },
        )
        return app_list
