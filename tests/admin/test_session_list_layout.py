"""The session list stays readable on a 1366 px screen with the admin's sidebar open: no
column is cut off (headless Chromium measures the table; the screenshot is kept)."""
from __future__ import annotations

import pytest

from apps.imports.models import ImportSession
from apps.imports.services.sessions import (
    import_session_complete,
    import_session_create,
    import_session_start,
    import_session_update_report,
)
from tests.admin.browser import admin_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _finished_session(import_type: str, **report) -> ImportSession:
    session = import_session_create(import_type=import_type, started_by="cli")
    import_session_start(session_id=session.pk)
    import_session_update_report(session_id=session.pk, **report)
    return import_session_complete(session_id=session.pk)


def test_every_column_fits_at_1366_px(live_server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    _finished_session("catalog", total_files=4, processed=4, created=12345, updated=67890, errors=3)
    _finished_session("images", total_products=10000, processed=10000, copied=29876, skipped=123, errors=1)
    running = import_session_create(import_type="images", started_by="cli")
    import_session_start(session_id=running.pk)
    import_session_update_report(session_id=running.pk, total_products=10000, processed=4200, copied=12000, skipped=0)
    with admin_page(live_server.url, height=768) as page:
        page.goto(f"{live_server.url}/admin/integrations/importsession/")
        sidebar_open = page.is_visible("#nav-sidebar")
        # The list scrolls sideways inside its box when it does not fit: compare both widths.
        overflow = page.evaluate(
            "() => { const box = document.querySelector('#changelist-form .results');"
            " return [box.scrollWidth, box.clientWidth, document.documentElement.scrollWidth,"
            " document.documentElement.clientWidth]; }"
        )
        screenshot(page, "admin-session-list-1366.png")

    table_width, box_width, page_width, viewport = overflow
    assert sidebar_open
    assert table_width <= box_width, f"the list is {table_width} px wide in a {box_width} px box: columns are cut off"
    assert page_width <= viewport
