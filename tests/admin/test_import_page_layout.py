"""The import page reads like a form on a 1366 px screen with the admin's sidebar open:
each image option on a row of its own, none wider than the form, its help on one line,
and the last catalog's summary before the button (headless Chromium measures the page;
the screenshot is kept)."""
from __future__ import annotations

import pytest

from apps.imports.services import sessions
from tests.admin.browser import admin_page, screenshot
from tests.admin.conftest import PAGE_URL

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEASURE = """() => {
  const form = document.querySelector('#import-1c-form').getBoundingClientRect();
  const box = r => ({top: r.top, bottom: r.bottom, left: r.left, right: r.right});
  return {
    form: box(form),
    page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
    rows: [...document.querySelectorAll('.import-option')].map(row => {
      const help = row.querySelector('.help');
      const text = document.createRange();
      text.selectNodeContents(help);
      const input = row.querySelector('input').getBoundingClientRect();
      const label = row.querySelector('label').getBoundingClientRect();
      return {name: row.className, box: box(row.getBoundingClientRect()), scroll: [row.scrollWidth, row.clientWidth],
              help_lines: new Set([...text.getClientRects()].map(r => Math.round(r.top))).size,
              label_beside_input: label.top < input.bottom && input.top < label.bottom,
              help_below: help.getBoundingClientRect().top >= Math.min(input.bottom, label.bottom) - 1};
    }),
    summary: document.querySelector('.import-last-catalog').getBoundingClientRect().bottom,
    button: document.querySelector('.submit-row input[type=submit]').getBoundingClientRect().top,
  };
}"""


def test_each_option_is_a_row_of_its_own_within_the_form_at_1366_px(live_server, shard_pool, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    catalog = sessions.import_session_create(
        import_type="catalog", started_by="cli", parameters={"data_dir": "/srv/1c/exchange"}
    )
    sessions.import_session_start(session_id=catalog.pk)
    sessions.import_session_update_report(session_id=catalog.pk, created=40, updated=8, pictures_listed=184)
    sessions.import_session_complete(session_id=catalog.pk)

    with admin_page(live_server.url, height=768) as page:
        page.goto(f"{live_server.url}{PAGE_URL}")
        sidebar_open = page.is_visible("#nav-sidebar")
        layout = page.evaluate(MEASURE)
        screenshot(page, "admin-import-page-1366.png")

    assert sidebar_open
    form, rows = layout["form"], layout["rows"]
    assert [row["name"].rsplit("--", 1)[1] for row in rows] == [
        "validate_images", "dry_run", "mirror", "verify_storage", "rebuild_renditions", "shards"
    ]
    for row in rows:
        assert form["left"] <= row["box"]["left"] and row["box"]["right"] <= form["right"], f"{row['name']} is wider than the form"
        assert row["scroll"][0] <= row["scroll"][1], f"{row['name']} overflows its row"
        assert row["label_beside_input"] and row["help_below"], row
        assert row["help_lines"] == 1, f"{row['name']}: the help takes {row['help_lines']} lines"
    for above, below in zip(rows, rows[1:]):
        assert above["box"]["bottom"] <= below["box"]["top"], f"{below['name']} shares a line with {above['name']}"
    assert layout["summary"] <= layout["button"]
    assert layout["page"][0] <= layout["page"][1]
