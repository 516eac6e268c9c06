from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    """Import types, sessions and their launch. The label stays `integrations`: the tables,
    permissions (`integrations.start_import`, `integrations.exchange_1c`) and admin
    addresses (/admin/integrations/...) an install already has keep their names."""

    name = "apps.imports"
    label = "integrations"
    verbose_name = _("1C integration")
