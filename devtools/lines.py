"""`./dev`'s own lines (`./dev demo`'s through the `dev_say` command, `./dev stack`'s from
devtools.stack), in the site's language (DJANGO_LANGUAGE_CODE, default ru)."""
from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext


def dev_line(text: str, values: Mapping[str, object]) -> str:
    """`dev: ` and the translated text with its `%(name)s` values (KeyError: one is missing)."""
    return f"dev: {gettext(text) % values}"
