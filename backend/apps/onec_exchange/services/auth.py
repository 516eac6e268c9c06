"""Opening an exchange: `checkauth` (HTTP Basic, the exchange permission, the lock-out of
an address after repeated failures: apps.access's, shared with the admin's login), the
exchange cookie of later requests, and `init`'s limits. Every fact lives in the database,
so any web process answers any request."""
from __future__ import annotations

import logging
import secrets
import time

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.access.lockout import (
    WRONG_PASSWORD,
    LoginLockedOutError,
    login_attempt_accept,
    login_attempt_begin,
    login_attempt_refuse,
)
from apps.access.models import LoginFailure
from apps.i18n.messages import Message, label_message, message_of
from apps.imports.models import ImportSession

from ..exceptions import ExchangeRefusedError
from ..models import Exchange1C
from .answers import ExchangeAnswer, answer_success

logger = logging.getLogger(__name__)

PERMISSION = "integrations.exchange_1c"
COOKIE_NAME = "onec_exchange"
# What a caller is told for a wrong password and for a user without the permission alike:
# an anonymous caller must not learn that a password is right; the reason is logged and
# recorded (apps.access's LoginFailure.reason).
REFUSED_LOGIN = Message(gettext_noop(
    "login refused: wrong user name or password, or the user may not exchange with the site "
    "(the site's log and «Refused logins» in the admin say which)"
))
NO_CREDENTIALS = Message(
    gettext_noop("no HTTP Basic credentials: set the user name and password in 1C's exchange settings")
)


def exchange_checkauth(
    *, username: str | None, password: str | None, client_ip: str | None, exchange_type: str
) -> Exchange1C:
    """Open an exchange for a user with the exchange permission (superusers have it).

    Refused (and recorded, and logged) without credentials, with a wrong password or
    without the permission; refused without a record while the client address is locked
    out after ONEC_EXCHANGE_AUTH_MAX_FAILURES failures in ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES
    (apps.access.lockout, the lock-out the admin's login shares).
    """
    try:
        attempt = login_attempt_begin(entry=LoginFailure.Entry.EXCHANGE_1C, client_ip=client_ip, username=username)
    except LoginLockedOutError as exc:
        raise ExchangeRefusedError(message_of(exc)) from None
    if not username:
        _auth_failed(attempt, NO_CREDENTIALS, answer=NO_CREDENTIALS)
    user = authenticate(username=username, password=password or "")
    if user is None:
        _auth_failed(attempt, WRONG_PASSWORD)
    if not user.has_perm(PERMISSION):
        _auth_failed(attempt, Message(
            gettext_noop(
                "user %(user)s may not exchange with the site: give them the permission "
                "«%(permission)s» (%(codename)s) in the admin"
            ),
            user=repr(username), permission=_permission_name(), codename=PERMISSION,
        ))
    login_attempt_accept(attempt)
    exchange = Exchange1C.objects.create(
        user=user, exchange_type=exchange_type, client_ip=client_ip,
        token=secrets.token_hex(32), last_request_at=timezone.now(),
    )
    logger.info("1C exchange #%s opened by %s from %s", exchange.pk, username, client_ip)
    return exchange


def _permission_name() -> Message:
    """The exchange permission's name, as the admin's user page shows it."""
    return label_message(dict(ImportSession._meta.permissions)[PERMISSION.split(".")[1]])


def _auth_failed(attempt: LoginFailure, reason: Message, *, answer: Message = REFUSED_LOGIN):
    """Refuse the login: `reason` is recorded for the admin and logged, `answer` is what 1C is told."""
    login_attempt_refuse(attempt, reason=reason)
    raise ExchangeRefusedError(answer)


def exchange_by_token(*, token: str | None) -> Exchange1C:
    """The open exchange whose cookie (or sessid) this is; it records the request."""
    exchange = Exchange1C.objects.filter(token=token).select_related("user").first() if token else None
    now = timezone.now()
    if exchange is None:
        raise ExchangeRefusedError(Message(gettext_noop("no exchange session: call mode=checkauth first and send its cookie")))
    if exchange.closed_at or (exchange.last_request_at and exchange.last_request_at < now - Exchange1C.IDLE_LIMIT):
        raise ExchangeRefusedError(Message(gettext_noop("exchange #%(id)s is closed: call mode=checkauth again"), id=exchange.pk))
    Exchange1C.objects.filter(pk=exchange.pk).update(last_request_at=now)
    return exchange


def exchange_checkauth_answer(exchange: Exchange1C) -> ExchangeAnswer:
    return answer_success(COOKIE_NAME, exchange.token, f"sessid={exchange.token}", f"timestamp={int(time.time())}")


def exchange_init_answer(*, exchange: Exchange1C, version: str | None) -> ExchangeAnswer:
    """Our limits: archives welcome, pieces of at most ONEC_EXCHANGE_FILE_LIMIT bytes."""
    lines = ["zip=yes", f"file_limit={settings.ONEC_EXCHANGE_FILE_LIMIT}"]
    if version:
        lines += [f"sessid={exchange.token}", f"version={version}"]
    return ExchangeAnswer(lines[0], tuple(lines[1:]))
