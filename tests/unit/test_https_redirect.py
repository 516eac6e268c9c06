"""With the production settings, plain HTTP is redirected to HTTPS, 1C's exchange included
(a 1C set up with http:// would send its password in clear: docs/connecting-1c.md), except
/healthz, which load balancers ask over plain HTTP; behind the proxy (X-Forwarded-Proto:
https) nothing is redirected."""
import pytest

pytestmark = pytest.mark.django_db

HOST = "shop.example.ru"


@pytest.fixture
def production_https(settings):
    settings.ALLOWED_HOSTS = [HOST]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000


def test_1c_over_plain_http_is_redirected_to_https(client, production_https):
    response = client.get("/1c/exchange?type=catalog&mode=checkauth", HTTP_HOST=HOST)
    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/1c/exchange?type=catalog&mode=checkauth"


def test_behind_the_https_proxy_1c_is_answered(client, production_https):
    response = client.get("/1c/exchange?type=catalog&mode=checkauth", HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200  # 1C's protocol answers, not a redirect: no login given
    assert response.content.decode("utf-8-sig").startswith("failure")
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_healthz_is_answered_over_plain_http(client, production_https):
    response = client.get("/healthz", HTTP_HOST=HOST)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
