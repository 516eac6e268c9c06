"""The Russian catalogue is complete: `makemessages` over a copy of the sources finds no text
for people that locale/ru/LC_MESSAGES/django.po leaves untranslated or fuzzy."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from django.core.management import call_command

REPO_DIR = Path(__file__).resolve().parents[2]
# Where the project's texts are: everything `manage.py makemessages` would read, not tests.
SOURCE_DIRS = ("backend", "flows", "devtools")
CATALOGUE = Path("locale", "ru", "LC_MESSAGES", "django.po")


def _entries(po: Path, *flags: str) -> str:
    """The catalogue's entries that msgattrib selects (e.g. --untranslated), as .po text."""
    return subprocess.run(
        ["msgattrib", "--no-obsolete", *flags, str(po)], check=True, capture_output=True, text=True
    ).stdout


def test_every_text_for_people_is_in_the_russian_catalogue(tmp_path, monkeypatch, settings):
    for name in SOURCE_DIRS:
        shutil.copytree(
            REPO_DIR / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static")
        )
    shutil.copytree(REPO_DIR / "locale", tmp_path / "locale")
    settings.LOCALE_PATHS = []  # makemessages writes into the copy's locale/, not the repository's
    monkeypatch.chdir(tmp_path)

    call_command("makemessages", locale=["ru"], no_obsolete=True, verbosity=0)

    po = tmp_path / CATALOGUE
    assert "msgid" in po.read_text(), "makemessages found no texts at all"
    missing = _entries(po, "--untranslated")
    fuzzy = _entries(po, "--only-fuzzy")
    assert not missing and not fuzzy, (
        "texts missing from or unsure in the Russian catalogue; run `./dev messages`, translate the "
        f"entries with an empty msgstr or a `fuzzy` flag in {CATALOGUE}, and remove the flags:\n{missing}{fuzzy}"
    )
