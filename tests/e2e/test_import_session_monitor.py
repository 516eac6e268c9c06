"""The session list as an admin leaves it open: headless Chromium starts an image import on
the 1C import page of a running stack (Django, Prefect server, worker) and watches the
session's progress bar move to 100% without a page reload.

Chromium is Debian's (/usr/bin/chromium, installed by ./dev test); Playwright drives it.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from apps.imports.models import ImportSession
from tests.conftest import Exchange
from tests.e2e.conftest import ARTIFACTS, log_in, start_image_import
from tests.flows.helpers import add_products_with_photos

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Enough products that the worker's import (chunks of 3, one at a time: see the stack's
# settings) takes several poll intervals: the bar must be seen between 0 and 100%.
PRODUCTS = 240
PASSWORD = "monitor-test-password"


@pytest.fixture
def catalog_with_photos(stack) -> Path:
    """PRODUCTS products with a photo each, in the stack's exchange directory."""
    return add_products_with_photos(Exchange(stack.data_dir), count=PRODUCTS)


def test_list_page_follows_a_running_image_import_to_completion(
    browser, stack, django_user_model, catalog_with_photos
):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    page = browser.new_page(viewport={"width": 1920, "height": 720})
    polls: list[str] = []
    page.on("request", lambda request: "/integrations/importsession/active/" in request.url and polls.append(request.url))
    log_in(page, stack.django_url, admin, PASSWORD)
    page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")  # room for every column

    session_id = start_image_import(page, stack.django_url)  # lands on the session list
    page.evaluate("window.__loadedOnce = true")  # gone if the page ever reloads
    bar = page.locator(f'[data-import-session="{session_id}"][data-field="progress"]')
    badge = page.locator(f'[data-import-session="{session_id}"][data-field="status"]')

    seen: list[int] = []
    running_screenshot = ARTIFACTS / "import-sessions-running.png"
    running_screenshot.unlink(missing_ok=True)
    deadline = time.monotonic() + 180  # a guard against hanging, not a measurement
    while (status := badge.get_attribute("data-status")) in ("pending", "in_progress"):
        assert time.monotonic() < deadline, f"session #{session_id} still {status}; the bar showed {seen}\n{stack.logs()}"
        percent = int(bar.get_attribute("aria-valuenow"))
        if not seen or seen[-1] != percent:
            seen.append(percent)
            if 0 < percent < 100 and not running_screenshot.exists():
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(running_screenshot), full_page=True)
        page.wait_for_timeout(200)

    assert any(0 < percent < 100 for percent in seen), f"the bar never showed progress between 0 and 100%: {seen}"
    assert seen == sorted(seen), f"the bar went backwards: {seen}"
    assert badge.get_attribute("data-status") == "completed" and badge.inner_text() == "Завершён"
    assert bar.get_attribute("aria-valuenow") == "100"
    assert bar.inner_text() == f"{PRODUCTS} / {PRODUCTS} товаров · 100%"
    copied = page.locator(f'[data-import-session="{session_id}"][data-field="copied"]')
    assert copied.inner_text() == str(PRODUCTS)
    flow_run_id = ImportSession.objects.get(pk=session_id).flow_run_id
    prefect_link = page.locator(f'[data-import-session="{session_id}"][data-field="prefect"] a')
    assert prefect_link.get_attribute("href").endswith(f"/runs/flow-run/{flow_run_id}")
    assert page.evaluate("window.__loadedOnce") is True, "the page reloaded"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "import-sessions-completed.png"), full_page=True)
    polls_when_done = len(polls)
    page.wait_for_timeout(4500)  # two poll intervals and more
    assert len(polls) == polls_when_done, "the page kept polling after every import had ended"

    page.click(f'a[href$="/importsession/{session_id}/change/"]')
    page.wait_for_selector(".import-session-counters")
    counters = page.locator(".import-session-counters")
    assert counters.locator(".import-counter--processed td").first.inner_text() == str(PRODUCTS)
    assert counters.locator(".import-counter--copied td").first.inner_text() == str(PRODUCTS)
    assert counters.locator(".import-counter--errors td").first.inner_text() == "0"
    assert "Нет." in page.locator(".import-session-file-errors").inner_text()
    page.screenshot(path=str(ARTIFACTS / "import-session-detail.png"), full_page=True)
    session = ImportSession.objects.get(pk=session_id)
    assert page.locator(f'a[href$="/runs/flow-run/{session.flow_run_id}"]').count() == 1
    assert (session.status, session.report_details["processed"], session.report_details["copied"]) == (
        "completed", PRODUCTS, PRODUCTS,
    )
    page.close()
