from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    verbose_name = "Интеграция с 1С"

    def ready(self):
        from . import exchange_admin  # noqa: F401  (the 1C exchange log's admin pages)
