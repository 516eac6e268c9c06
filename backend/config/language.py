"""The site's one language and where its texts are compiled: read by the settings and, without
Django, by `./dev`'s own lines (devtools.lines), which the system python3 says before the venv
exists. Standard library only."""
from __future__ import annotations

import gettext
import os
from pathlib import Path

LANGUAGES = [("ru", "Русский"), ("en", "English")]
# locale/<language>/LC_MESSAGES/django.po, compiled to django.mo by ./dev.
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"


def site_language() -> str:
    """DJANGO_LANGUAGE_CODE, Russian unless set (the settings refuse any but LANGUAGES)."""
    return os.environ.get("DJANGO_LANGUAGE_CODE", "ru")


def gettext_noop(text: str) -> str:
    """Marks a text for `makemessages`; it is translated when said."""
    return text


def site_catalogue() -> gettext.NullTranslations:
    """The compiled catalogue of the site's language, read with the standard library: for texts
    said before Django's translations can be (the settings' refusals, `./dev`'s lines); none
    yet (a fresh clone without msgfmt): the texts as written, in English."""
    return gettext.translation("django", LOCALE_DIR, languages=[site_language()], fallback=True)


def said_before_django(text: str, **values: object) -> str:
    """`text` (marked with gettext_noop) in the site's language, with its `%(name)s` values."""
    translated = site_catalogue().gettext(text)
    return translated % values if values else translated
