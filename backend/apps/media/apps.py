from django.apps import AppConfig


class MediaConfig(AppConfig):
    """Photos in media storage, their renditions and the storage they live in; knows nothing
    of 1C."""

    name = "apps.media"
    verbose_name = "Медиа"
