"""Headless Debian Chromium (installed by ./dev test) driven by Playwright, logged in to a
live admin as a new superuser: for the admin tests that look at a page as a person does."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.auth.models import User

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "viewer-password"


@contextmanager
def admin_page(base_url: str, *, width: int = 1366, height: int = 900) -> Iterator:
    """A Playwright page logged in to the admin at `base_url` (the test must allow
    DJANGO_ALLOW_ASYNC_UNSAFE: Playwright keeps an event loop in the test's thread)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./dev test (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    User.objects.create_superuser("viewer", password=PASSWORD)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{base_url}/admin/login/")
            page.fill("#id_username", "viewer")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
