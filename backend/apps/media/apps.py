from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    """Photos in media storage, their renditions and the storage they live in; knows nothing
    of 1C."""

    name = "apps.media"
    verbose_name = _("Media")
