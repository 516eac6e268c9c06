"""`./dev`'s own lines follow the site's language, default Russian: `./dev demo`'s (devtools'
`dev_say`, every line the script says is one the command knows) and `./dev stack`'s
(devtools.stack)."""
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


def test_dev_stack_says_its_lines_in_the_sites_language(capsys):
    from devtools.stack import _say

    with translation.override("ru"):
        _say("stopping the stack...")
        _say("the stack did not start: %(error)s", error="http://127.0.0.1:4200/api/health did not answer in 90 s")
    assert capsys.readouterr().err.splitlines() == [
        "dev: останавливаем стек...",
        "dev: стек не запустился: http://127.0.0.1:4200/api/health did not answer in 90 s",
    ]
