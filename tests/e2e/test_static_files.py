"""The stack's web server (gunicorn, DEBUG off, as in production) serves the collected static
files itself (WhiteNoise): the admin's CSS and the import page's monitor script answer 200
under hashed names, compressed, with a far-future cache, so the admin, the import page and
the exchange log look as they do under runserver."""
from __future__ import annotations

import gzip
import json
import re
import urllib.request

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

FAR_FUTURE = "max-age=315360000, public, immutable"


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def _hashed_name(stack, name: str) -> str:
    """`name` as collectstatic hashed it (the manifest the templates' {% static %} read)."""
    return json.loads((stack.root / "static" / "staticfiles.json").read_text())["paths"][name]


@pytest.mark.parametrize("name", ["admin/css/base.css", "integrations/import_session_monitor.js"])
def test_static_files_are_served_hashed_compressed_and_cached_for_good(running_stack, name):
    hashed = _hashed_name(running_stack, name)
    assert hashed != name

    status, headers, body = _get(f"{running_stack.django_url}/static/{hashed}")

    assert status == 200
    assert headers["Cache-Control"] == FAR_FUTURE
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (running_stack.root / "static" / hashed).read_bytes()


def test_the_admin_pages_link_the_hashed_files(running_stack):
    status, _, body = _get(f"{running_stack.django_url}/admin/login/")
    page = gzip.decompress(body).decode() if body[:2] == b"\x1f\x8b" else body.decode()
    assert status == 200
    assert f'/static/{_hashed_name(running_stack, "admin/css/base.css")}' in page
    assert not re.search(r'/static/admin/css/base\.css"', page)


def test_the_stack_answers_its_health_check(running_stack):
    status, _, body = _get(f"{running_stack.django_url}/healthz")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
