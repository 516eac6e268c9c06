from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnecExchangeConfig(AppConfig):
    """The 1C site exchange over HTTP (/1c/exchange): it asks the imports app to run imports
    and never does their work in the web process."""

    name = "apps.onec_exchange"
    verbose_name = _("1C exchange")
