"""The project's URLs plus media files served from MEDIA_ROOT, for browser tests: Django
serves media only with DEBUG, and a test's MEDIA_ROOT is a temporary directory."""
from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from config.urls import urlpatterns as project_urlpatterns


def _serve_media(request, path):
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    re_path(r"^media/(?P<path>.*)$", _serve_media),
    *project_urlpatterns,
]
