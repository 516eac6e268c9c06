"""The settings a server gets when it sets nothing but the three variables an engineer must
set: DEBUG off, HTTPS on, `check --deploy` clean; without a secret key nothing starts. Each
case is a fresh process with only the given environment (the tests' own, tests/environment.py,
is not inherited)."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MANAGE = str(REPO / "backend" / "manage.py")
SERVER_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "shop.example.ru",
    "DATABASE_URL": "postgres://shop@127.0.0.1:5432/shop",
}
# The settings module alone, as the first access loads it: what is asserted is its values, and
# loading the apps (django.setup) would import Prefect for nothing, in every case.
PRINT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in (
    "DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS",
    "SECURE_REDIRECT_EXEMPT")}))
"""


def _run(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`command` in a process that sees only `env` (and PATH, HOME, and PYTHONPATH when set:
    a worktree sharing another checkout's venv points it at its own code)."""
    inherited = {name: os.environ[name] for name in ("PATH", "HOME", "PYTHONPATH") if name in os.environ}
    return subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, timeout=120, cwd=REPO,
        env={"HOME": "/root", **inherited, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )


def _settings(**env: str) -> dict:
    result = _run("-c", PRINT_SETTINGS, env={**SERVER_ENV, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_only_the_three_server_variables_debug_is_off_and_https_is_on():
    assert _settings() == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CSRF_TRUSTED_ORIGINS": ["https://shop.example.ru"],
        "SECURE_REDIRECT_EXEMPT": ["^healthz$"],
    }


def test_each_https_setting_is_overridable_and_debug_turns_them_off():
    overridden = _settings(
        DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_SECURE_COOKIES="0", DJANGO_SECURE_HSTS_SECONDS="3600",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="0", DJANGO_SECURE_HSTS_PRELOAD="0", DJANGO_SECURE_PROXY_SSL_HEADER="",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://shop.example.ru,https://admin.example.ru",
        DJANGO_ALLOWED_HOSTS=".example.ru",
    )
    assert overridden["SECURE_SSL_REDIRECT"] is overridden["SESSION_COOKIE_SECURE"] is False
    assert (overridden["SECURE_HSTS_SECONDS"], overridden["SECURE_HSTS_INCLUDE_SUBDOMAINS"],
            overridden["SECURE_HSTS_PRELOAD"], overridden["SECURE_PROXY_SSL_HEADER"]) == (3600, False, False, None)
    assert overridden["CSRF_TRUSTED_ORIGINS"] == ["https://shop.example.ru", "https://admin.example.ru"]
    assert _settings(DJANGO_ALLOWED_HOSTS=".example.ru,127.0.0.1")["CSRF_TRUSTED_ORIGINS"] == [
        "https://*.example.ru", "https://127.0.0.1"]
    development = _settings(DJANGO_DEBUG="1")
    assert development["DEBUG"] is True
    assert (development["SECURE_SSL_REDIRECT"], development["SESSION_COOKIE_SECURE"],
            development["SECURE_HSTS_SECONDS"]) == (False, False, 0)


def test_check_deploy_reports_no_issues_with_only_the_three_server_variables():
    result = _run(MANAGE, "check", "--deploy", "--fail-level", "WARNING", env=SERVER_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("command", [
    (MANAGE, "check"),
    (MANAGE, "import_1c", "catalog"),
    ("-m", "gunicorn", "--config", "python:config.gunicorn", "--bind", "127.0.0.1:0"),
], ids=["check", "import_1c", "gunicorn"])
def test_without_debug_a_missing_secret_key_stops_every_command_with_one_line(command):
    """In the site's language (Russian by default), though Django's translations are not
    loaded yet when the settings refuse."""
    result = _run(*command, env={name: value for name, value in SERVER_ENV.items() if name != "DJANGO_SECRET_KEY"})
    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("DJANGO_SECRET_KEY не задан: задайте длинную случайную строку")
    assert "DJANGO_DEBUG=1" in line


def test_the_settings_refusals_in_english_when_the_site_is():
    without_key = {name: value for name, value in SERVER_ENV.items() if name != "DJANGO_SECRET_KEY"}
    missing_key = _run(MANAGE, "check", env={**without_key, "DJANGO_LANGUAGE_CODE": "en"})
    [line] = missing_key.stderr.splitlines()
    assert line.startswith("DJANGO_SECRET_KEY is not set: set it to a long random string")

    unknown_language = _run(MANAGE, "check", env={**SERVER_ENV, "DJANGO_LANGUAGE_CODE": "de"})
    assert unknown_language.returncode != 0
    assert "ImproperlyConfigured: DJANGO_LANGUAGE_CODE='de': set it to one of ru, en" in unknown_language.stderr


def test_without_debug_or_key_development_still_runs():
    result = _run(MANAGE, "check", env={"DJANGO_DEBUG": "1", "DATABASE_URL": SERVER_ENV["DATABASE_URL"]})
    assert result.returncode == 0, result.stderr


def test_an_sqlite_too_old_for_the_image_imports_sql_stops_every_command_at_start():
    """Without DATABASE_URL the database is SQLite; one older than 3.38 (no ->> in its JSON)
    is refused when the settings load, not mid-import."""
    pretend_old = "import sqlite3; sqlite3.sqlite_version_info = (3, 37, 2); sqlite3.sqlite_version = '3.37.2'; "
    result = _run("-c", pretend_old + PRINT_SETTINGS, env={"DJANGO_SECRET_KEY": SERVER_ENV["DJANGO_SECRET_KEY"]})

    assert result.returncode != 0
    assert ("ImproperlyConfigured: нужен SQLite 3.38 или новее, а у этого Python — 3.37.2. Используйте Python, "
            "собранный с более новым SQLite, или PostgreSQL (DATABASE_URL)") in result.stderr
    assert _run("-c", PRINT_SETTINGS, env={"DJANGO_SECRET_KEY": SERVER_ENV["DJANGO_SECRET_KEY"]}).returncode == 0
