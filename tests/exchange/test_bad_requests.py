"""Requests that try what 1C never does: a body over the announced file limit, forged
X-Forwarded-Proto / X-Forwarded-Host from outside the trusted proxies. None changes what
the site believes or makes it read what it refuses."""
from __future__ import annotations

import base64
import io

import pytest

from apps.onec_exchange.models import ExchangeFile
from tests.exchange.client_1c import BOM, OneC, django_client_transport
from tests.exchange.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_english")]  # the answers' English texts

OUTSIDE, PROXY = "198.51.100.7", "10.0.0.1"


class CountingStream(io.BytesIO):
    """A request body that counts the bytes the site reads of it."""

    bytes_read = 0

    def read(self, size=-1):
        block = super().read(size)
        self.bytes_read += len(block)
        return block


def _send_piece(client, onec: OneC, body: CountingStream, name="goods/goods.xml") -> list[str]:
    response = client.generic(
        "POST", f"/1c/exchange?type=catalog&mode=file&filename={name}", content_type="application/octet-stream",
        HTTP_COOKIE=onec.cookie, CONTENT_LENGTH=str(len(body.getvalue())), **{"wsgi.input": body},
    )
    text = response.content.decode("utf-8")
    assert response.status_code == 200 and text.startswith(BOM)
    return text[1:].split("\n")


def test_a_body_over_the_file_limit_is_refused_unread(client, exchange_user, exchange_dirs, settings):
    onec = OneC(django_client_transport(client), "onec", PASSWORD)
    onec.checkauth()
    assert f"file_limit={settings.ONEC_EXCHANGE_FILE_LIMIT}" in onec.init()
    too_large = CountingStream(b"x" * (settings.ONEC_EXCHANGE_FILE_LIMIT + 1))

    answer = _send_piece(client, onec, too_large)

    assert answer == ["failure", (
        "file 'goods/goods.xml': a piece of 65537 bytes is larger than ONEC_EXCHANGE_FILE_LIMIT=65536 bytes, "
        "the limit mode=init announced: send pieces of at most that size, or raise the setting "
        "(and nginx's client_max_body_size with it)"
    )]
    assert too_large.bytes_read == 0 and not ExchangeFile.objects.exists()
    assert not any(p.is_file() for p in (exchange_dirs / "staging").rglob("*"))
    at_the_limit = CountingStream(b"x" * settings.ONEC_EXCHANGE_FILE_LIMIT)
    assert _send_piece(client, onec, at_the_limit) == ["success"]
    assert ExchangeFile.objects.get().size == settings.ONEC_EXCHANGE_FILE_LIMIT


@pytest.fixture
def behind_https_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    settings.ONEC_EXCHANGE_TRUSTED_PROXIES = [PROXY]
    return settings


def test_forged_forwarded_proto_and_host_do_not_pass_for_https(client, behind_https_proxy):
    behind_https_proxy.SECURE_SSL_REDIRECT = True
    forged = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "evil.example"}

    from_outside = client.get("/admin/login/", REMOTE_ADDR=OUTSIDE, **forged)
    from_the_proxy = client.get("/admin/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")

    # Still plain HTTP: redirected to HTTPS, on the host the request was made to.
    assert (from_outside.status_code, from_outside["Location"]) == (301, "https://testserver/admin/login/")
    assert from_the_proxy.status_code == 200


def test_the_exchange_cookie_is_secure_only_when_the_proxy_says_https(client, exchange_user, behind_https_proxy):
    token = base64.b64encode(f"onec:{PASSWORD}".encode()).decode()

    def cookie_from(address: str):
        response = client.get("/1c/exchange", {"type": "catalog", "mode": "checkauth"}, REMOTE_ADDR=address,
                              HTTP_AUTHORIZATION=f"Basic {token}",
                              HTTP_X_FORWARDED_PROTO="https")
        return response.cookies["onec_exchange"]

    assert not cookie_from(OUTSIDE)["secure"]
    assert cookie_from(PROXY)["secure"]
