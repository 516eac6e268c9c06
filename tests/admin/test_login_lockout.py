"""The admin's login shares the 1C exchange's lock-out (apps.access): an address that fails
too often is refused for the window, by its real address, whatever headers it writes, and
each entry point counts its own failures."""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.access.models import LoginFailure
from tests.exchange.conftest import PASSWORD, grant_exchange

pytestmark = pytest.mark.django_db

LOCKED_OUT = ("слишком много неудачных попыток входа с адреса {}: вход закрыт на 10 мин. "
              "(ADMIN_LOGIN_MAX_FAILURES / ADMIN_LOGIN_LOCKOUT_MINUTES)")  # the site's language


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user("manager", password="right-pw", is_staff=True)


@pytest.fixture
def limits(settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    settings.ADMIN_LOGIN_LOCKOUT_MINUTES = 10
    return settings


def _log_in(client, password: str, *, address: str = "198.51.100.7", username: str = "manager", **headers):
    """POST the admin's login form; the answer and whether it logged in."""
    client.logout()
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"},
                           REMOTE_ADDR=address, **headers)
    return response, response.status_code == 302 and "_auth_user_id" in client.session


def test_failed_admin_logins_lock_the_address_out_until_the_window_passes(client, staff, limits):
    for _ in range(3):
        response, logged_in = _log_in(client, "wrong")
        assert not logged_in and "корректные имя пользователя и пароль" in response.content.decode()

    response, logged_in = _log_in(client, "right-pw")  # the right password, but locked out
    assert not logged_in and response.status_code == 200
    assert LOCKED_OUT.format("198.51.100.7") in response.content.decode()
    assert _log_in(client, "right-pw", address="198.51.100.8")[1]  # another address is not locked out
    assert list(LoginFailure.objects.values_list("entry", "client_ip", "username")) == [
        (LoginFailure.Entry.ADMIN, "198.51.100.7", "manager")
    ] * 3  # the refusal of a locked-out attempt is not recorded, the successful login neither

    # The window passes: the failures are older than ADMIN_LOGIN_LOCKOUT_MINUTES.
    LoginFailure.objects.update(created_at=timezone.now() - timedelta(minutes=10, seconds=1))
    assert _log_in(client, "right-pw")[1]


def test_a_login_that_is_not_staff_counts_as_a_failure_with_its_reason(client, limits):
    User.objects.create_user("clerk", password="pw")

    response, logged_in = _log_in(client, "pw", username="clerk")

    assert not logged_in
    assert LoginFailure.objects.get().reason == "user 'clerk' is not staff: only staff may use the admin"


def test_the_refused_logins_are_listed_in_the_admin_with_their_entry_point(client, staff, limits):
    _log_in(client, "wrong")
    User.objects.create_user("clerk", password="pw")
    _log_in(client, "pw", username="clerk")
    # A refusal recorded before reasons were kept as messages: shown as stored.
    LoginFailure.objects.create(entry=LoginFailure.Entry.EXCHANGE_1C, client_ip="10.0.0.9", reason="wrong password (old)")
    client.force_login(User.objects.create_superuser("root", password="pw"))

    page = client.get("/admin/access/loginfailure/").content.decode()

    assert "вход в админку" in page and "198.51.100.7" in page
    assert "неверное имя пользователя или пароль (или пользователь неактивен)" in page  # the site's language
    assert "пользователь &#x27;clerk&#x27; не сотрудник: в админку входят только сотрудники" in page
    assert "wrong password (old)" in page and "wrong user name" not in page
    assert LoginFailure.objects.filter(reason__startswith="wrong user name or password").exists()  # the logs' English


def test_forged_forwarded_for_does_not_dodge_the_lock_out(client, staff, limits):
    # Without trusted proxies the connection's address is the client's, whatever it writes.
    for n in range(3):
        _log_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}", HTTP_X_REAL_IP=f"203.0.113.{n}")

    response, logged_in = _log_in(client, "right-pw", HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert not logged_in and LOCKED_OUT.format("198.51.100.7") in response.content.decode()
    assert set(LoginFailure.objects.values_list("client_ip", flat=True)) == {"198.51.100.7"}


def test_behind_a_trusted_proxy_each_real_client_is_locked_out_on_its_own(client, staff, limits):
    limits.ONEC_EXCHANGE_TRUSTED_PROXIES = ["10.0.0.1"]
    for _ in range(3):  # the client wrote 1.2.3.4 itself; the proxy appended what it saw
        _log_in(client, "wrong", address="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5")

    response, logged_in = _log_in(client, "right-pw", address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert not logged_in and LOCKED_OUT.format("203.0.113.5") in response.content.decode()
    assert _log_in(client, "right-pw", address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6")[1]


def test_admin_failures_never_lock_the_shops_1c_out(client, staff, limits):
    grant_exchange(User.objects.create_user("onec", password=PASSWORD))
    for _ in range(3):
        _log_in(client, "wrong", address="127.0.0.1")
    assert _log_in(client, "right-pw", address="127.0.0.1")[1] is False

    token = base64.b64encode(f"onec:{PASSWORD}".encode()).decode()
    answer = client.get("/1c/exchange", {"type": "catalog", "mode": "checkauth"}, HTTP_AUTHORIZATION=f"Basic {token}")

    assert answer.content.decode("utf-8")[1:].split("\n")[0] == "success"
