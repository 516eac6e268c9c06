from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Who is calling: the client's address behind trusted proxies, forwarded headers
    believed only from them, and the one lock-out of repeated failed logins (the admin's
    login page and the 1C exchange's `checkauth`)."""

    name = "apps.access"
    verbose_name = "Доступ"
