"""`./dev demo`'s own lines (devtools' `dev_say`) follow the site's language, default Russian;
every line the script says is one the command knows."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from devtools.management.commands.dev_say import LINES

DEV = Path(__file__).resolve().parents[2] / "dev"


def _said(language: str, *args: str) -> str:
    err = io.StringIO()
    with translation.override(language):
        call_command("dev_say", *args, stderr=err)
    return err.getvalue()


def test_a_dev_line_is_said_in_the_sites_language():
    assert _said("ru", "generating", "dir=var/demo/exchange") == "dev: создание демонстрационного обмена в var/demo/exchange...\n"
    assert _said("en", "generating", "dir=var/demo/exchange") == "dev: generating the demo exchange in var/demo/exchange...\n"
    assert _said("ru", "import-failed") == "dev: импорт не удался (причина — выше)\n"


def test_a_line_without_its_value_says_which_is_missing():
    with pytest.raises(CommandError, match="needs the value 'dir'"):
        _said("en", "importing")


def test_every_line_the_script_says_is_known():
    said = set(re.findall(r"\bsay ([a-z-]+)", DEV.read_text()))
    assert said and said <= set(LINES)
