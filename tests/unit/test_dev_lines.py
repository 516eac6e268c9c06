"""`./dev`'s own lines follow the site's language, default Russian, from the compiled catalogue
without Django: every line the script says is one devtools.lines knows, the system python3
says it (as before the venv exists) in a fraction of Django's start, and `./dev stack` says
its lines the same way."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from devtools.lines import LINES, main

REPO_DIR = Path(__file__).resolve().parents[2]
DEV = REPO_DIR / "dev"


@pytest.fixture(autouse=True)
def compiled_catalogue():
    """The catalogue as ./dev compiles it before its first line (the tests' own set-up did)."""
    assert (REPO_DIR / "locale/ru/LC_MESSAGES/django.mo").exists()


def _said(capsys, monkeypatch, language: str | None, *args: str) -> tuple[int, str]:
    if language is None:
        monkeypatch.delenv("DJANGO_LANGUAGE_CODE", raising=False)
    else:
        monkeypatch.setenv("DJANGO_LANGUAGE_CODE", language)
    status = main(list(args))
    return status, capsys.readouterr().err


def test_a_dev_line_is_said_in_the_sites_language(capsys, monkeypatch):
    assert _said(capsys, monkeypatch, "ru", "generating", "dir=var/demo/exchange") == (
        0, "dev: создание демонстрационного обмена в var/demo/exchange...\n")
    assert _said(capsys, monkeypatch, "en", "generating", "dir=var/demo/exchange") == (
        0, "dev: generating the demo exchange in var/demo/exchange...\n")
    assert _said(capsys, monkeypatch, None, "import-failed") == (0, "dev: импорт не удался (причина — выше)\n")


def test_a_line_without_its_value_or_an_unknown_line_says_what_is_wrong(capsys, monkeypatch):
    assert _said(capsys, monkeypatch, "en", "importing") == (
        2, "devtools.lines: the line 'importing' needs the value 'dir'=…\n")
    status, said = _said(capsys, monkeypatch, "en", "greeting")
    assert status == 2 and "say one of" in said and "migrating" in said


def test_every_line_the_script_says_is_known():
    said = set(re.findall(r"\bsay ([a-z-]+)", DEV.read_text()))
    assert {"installing-packages", "starting-postgres", "migrating"} <= said <= set(LINES)


def test_the_system_python_says_a_line_without_the_venv_or_django():
    """As ./dev's `say` runs it: the system python3, only the repository on its path."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{REPO_DIR / 'backend'}:{REPO_DIR}", "DJANGO_LANGUAGE_CODE": "ru"}
    result = subprocess.run(
        ["/usr/bin/python3", "-S", "-m", "devtools.lines", "installing-debian", "packages=gettext"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=30,
    )
    assert (result.returncode, result.stderr) == (0, "dev: установка пакетов Debian gettext (только при первом запуске)...\n")


def test_dev_stack_says_its_lines_in_the_sites_language(capsys, monkeypatch):
    from devtools.stack import _say

    monkeypatch.setenv("DJANGO_LANGUAGE_CODE", "ru")
    _say("stopping the stack...")
    _say("the stack did not start: %(error)s", error="http://127.0.0.1:4200/api/health did not answer in 90 s")
    assert capsys.readouterr().err.splitlines() == [
        "dev: останавливаем стек...",
        "dev: стек не запустился: http://127.0.0.1:4200/api/health did not answer in 90 s",
    ]
