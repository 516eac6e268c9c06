"""The site's one language and where its texts are compiled: read by the settings and, without
Django, by `./dev`'s own lines (devtools.lines), which the system python3 says before the venv
exists. Standard library only."""
from __future__ import annotations

import os
from pathlib import Path

LANGUAGES = [("ru", "Русский"), ("en", "English")]
# locale/<language>/LC_MESSAGES/django.po, compiled to django.mo by ./dev.
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"


def site_language() -> str:
    """DJANGO_LANGUAGE_CODE, Russian unless set (the settings refuse any but LANGUAGES)."""
    return os.environ.get("DJANGO_LANGUAGE_CODE", "ru")
