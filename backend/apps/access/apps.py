from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    """Who is calling: the client's address behind trusted proxies, forwarded headers
    believed only from them, and the one lock-out of repeated failed logins (the admin's
    login page and the 1C exchange's `checkauth`)."""

    name = "apps.access"
    verbose_name = _("Access")
