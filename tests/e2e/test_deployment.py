"""The files of deploy/ as a server runs them (devtools/deployment.py): Debian's nginx with
the site deploy/nginx/onec-images.conf (TLS with a certificate made here) in front of
gunicorn started with the ExecStart of deploy/systemd/onec-web.service, DEBUG off and the
production settings, beside the session's stack (its Prefect server, worker and database).
1C's whole exchange of the real sample goes over HTTPS; an admin in Chromium opens the admin
and the 1C import page through nginx, which serves the photos under /media/; the Prefect UI
refuses anyone without the password."""
from __future__ import annotations

import base64
import re

import pytest
from django.contrib.auth.models import User

from apps.imports.models import ImportSession
from apps.access.models import LoginFailure
from apps.products.models import Product
from devtools.deployment import ProductionSite
from tests.e2e.conftest import ARTIFACTS, log_in, start_image_import, wait_until_finished
from tests.exchange.client_1c import OneC, exchange_files, http_transport
from tests.exchange.conftest import PASSWORD, grant_exchange
from tests.exchange.test_onec_client import _assert_imported

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ADMIN_PASSWORD = "deployment-admin-password"
# The nginx site's client_max_body_size of /1c/exchange: ONEC_EXCHANGE_FILE_LIMIT's default.
EXCHANGE_BODY_LIMIT = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def site(running_stack):
    """The production web server and nginx, once for this module's tests."""
    production = ProductionSite(running_stack)
    try:
        production.start()
        yield production
    finally:
        production.stop()


@pytest.fixture
def deployed(site, running_stack):
    """The site with an empty exchange directory, staging area and media root."""
    running_stack.reset()
    return site


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_1c_exchange_over_https_then_the_admin_import_page_and_photos_through_nginx(
    deployed, running_stack, sample_dir, browser
):
    grant_exchange(User.objects.create_user("onec", password=PASSWORD))
    onec = OneC(http_transport(deployed.https_url, ssl_context=deployed.ssl_context()), "onec", PASSWORD,
                poll_seconds=0.3)

    results = onec.exchange_one_zip(exchange_files(sample_dir))

    _assert_imported(running_stack, results)  # 1C's Basic auth, X-Forwarded-Proto and the pieces went through
    product = Product.objects.exclude(main_image="").order_by("onec_id").first()
    status, headers, body = deployed.get(f"{deployed.https_url}{product.main_image.url}")
    assert status == 200 and body == (running_stack.media_root / product.main_image.name).read_bytes()
    assert "max-age=86400" in headers["cache-control"]

    admin = User.objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)
    page = browser.new_page(ignore_https_errors=True, viewport={"width": 1366, "height": 900})
    static = []
    page.on("response", lambda response: "/static/" in response.url and static.append(response))
    log_in(page, deployed.https_url, admin, ADMIN_PASSWORD)

    # The admin's CSS, served by WhiteNoise with DEBUG off: hashed names, a far-future cache.
    header = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header not in ("", "rgba(0, 0, 0, 0)"), "the admin has no CSS"
    css = [response for response in static if response.url.endswith(".css")]
    assert css and all(response.status == 200 for response in static), [(r.url, r.status) for r in static]
    assert any(re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", r.url) for r in css), [r.url for r in css]
    assert "immutable" in css[0].headers["cache-control"]

    session_id = start_image_import(page, deployed.https_url)  # a POST with the CSRF token over HTTPS
    session = wait_until_finished(ImportSession.objects.get(pk=session_id), running_stack)
    assert (session.status, session.report_details["skipped"]) == ("completed", 13), session.error_message

    page.goto(f"{deployed.https_url}/admin/products/product/")
    loaded = "[...document.querySelectorAll('img.product-thumbnail')].every(image => image.complete)"
    page.wait_for_function(f"document.querySelector('img.product-thumbnail') && {loaded}")
    sources = page.locator("img.product-thumbnail").evaluate_all(
        "images => images.map(image => [image.getAttribute('src'), image.naturalWidth])"
    )
    assert sources and all(src.startswith("/media/renditions/") and width > 0 for src, width in sources), sources
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-production-products.png"), full_page=True)
    status, headers, _ = deployed.get(f"{deployed.https_url}{sources[0][0]}")
    assert (status, headers["cache-control"]) == (200, "public, max-age=31536000, immutable")
    assert "expires" not in headers
    page.close()


def test_plain_http_is_sent_to_https_but_the_health_check_and_forged_client_headers_change_nothing(deployed):
    status, headers, _ = deployed.get(f"{deployed.http_url}/1c/exchange?type=catalog&mode=checkauth")
    assert status == 301 and headers["location"] == "https://127.0.0.1/1c/exchange?type=catalog&mode=checkauth"
    status, _, body = deployed.get(f"{deployed.http_url}/healthz")
    assert status == 200 and body.startswith(b"{"), body

    # nginx names the client itself: the exchange's log of refused logins records the
    # connection's address, not the one a client claims.
    status, _, body = deployed.get(
        f"{deployed.https_url}/1c/exchange?type=catalog&mode=checkauth",
        headers={**_basic("nobody", "wrong"), "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"},
    )
    assert status == 200 and body.decode().lstrip("\ufeff").startswith("failure")
    refused = LoginFailure.objects.filter(entry=LoginFailure.Entry.EXCHANGE_1C)
    assert list(refused.values_list("client_ip", flat=True)) == ["127.0.0.1"]


def test_a_piece_larger_than_the_file_limit_is_refused_by_nginx(deployed):
    connection = deployed.connection(deployed.https_url)
    try:
        connection.putrequest("POST", "/1c/exchange?type=catalog&mode=file&filename=import.zip")
        connection.putheader("Content-Length", str(EXCHANGE_BODY_LIMIT + 1))
        connection.endheaders()  # nginx answers on the headers alone
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_the_prefect_ui_is_for_staff_only(deployed):
    for path in ("/", "/api/health", "/api/flow_runs/filter"):
        assert deployed.get(f"{deployed.prefect_url}{path}")[0] == 401, path
        assert deployed.get(f"{deployed.prefect_url}{path}", headers=_basic("staff", "wrong"))[0] == 401, path

    staff = _basic(*deployed.prefect_auth)
    status, _, page = deployed.get(f"{deployed.prefect_url}/", headers=staff)
    assert status == 200 and b"<html" in page.lower()
    status, _, health = deployed.get(f"{deployed.prefect_url}/api/health", headers=staff)
    assert (status, health) == (200, b"true")
