"""The one lock-out of repeated failed logins, for every entry point (the admin's login
page, the 1C exchange's `checkauth`): after so many failures from one client address in a
window, that address is refused for the window. Each entry point counts its own failures,
with its own settings, so a mistyped admin password never locks the shop's 1C out."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.i18n.messages import Message

from .models import LoginFailure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EntryLimits:
    """Where a login is made, as the log names it, and the settings of its lock-out."""

    log_name: str
    max_failures_setting: str
    lockout_minutes_setting: str


ENTRY_LIMITS = {
    LoginFailure.Entry.ADMIN: EntryLimits("admin", "ADMIN_LOGIN_MAX_FAILURES", "ADMIN_LOGIN_LOCKOUT_MINUTES"),
    LoginFailure.Entry.EXCHANGE_1C: EntryLimits(
        "1C exchange", "ONEC_EXCHANGE_AUTH_MAX_FAILURES", "ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES"
    ),
}


# The reason recorded for a password that does not match, at every entry point.
WRONG_PASSWORD = Message(gettext_noop("wrong user name or password (or the user is inactive)"))


class LoginLockedOutError(Exception):
    """The client address is locked out; the message names the address, for how long, and
    the settings."""


def login_attempt_begin(*, entry: LoginFailure.Entry, client_ip: str | None, username: str | None) -> LoginFailure:
    """Record a login attempt before its password is checked, then count the address's
    recent failures at this entry point: LoginLockedOutError (and no record) when there
    are too many. The attempt is recorded first so that attempts made at once count each
    other; pass it to login_attempt_refuse or login_attempt_accept."""
    limits = ENTRY_LIMITS[entry]
    minutes = getattr(settings, limits.lockout_minutes_setting)
    checking = Message(gettext_noop("login being checked"))
    attempt = LoginFailure.objects.create(
        entry=entry, client_ip=client_ip, username=(username or "")[:150], reason=str(checking),
        reason_message=checking.as_json(),
    )
    recent = LoginFailure.objects.filter(
        entry=entry, client_ip=client_ip, created_at__gte=timezone.now() - timedelta(minutes=minutes)
    ).exclude(pk=attempt.pk).count()
    if recent >= getattr(settings, limits.max_failures_setting):
        attempt.delete()
        logger.warning("%s: login from %s refused, locked out after %d failures", limits.log_name, client_ip, recent)
        raise LoginLockedOutError(Message(
            gettext_noop("too many failed logins from %(address)s: locked out for %(minutes)s minutes (%(settings)s)"),
            address=client_ip, minutes=minutes,
            settings=f"{limits.max_failures_setting} / {limits.lockout_minutes_setting}",
        ))
    return attempt


def login_attempt_refuse(attempt: LoginFailure, *, reason: Message) -> None:
    """The attempt failed: it stays recorded, with why (shown in the site's language), and
    counts towards the lock-out."""
    LoginFailure.objects.filter(pk=attempt.pk).update(reason=str(reason)[:200], reason_message=reason.as_json())
    logger.warning(
        "%s: login %r from %s refused: %s", ENTRY_LIMITS[attempt.entry].log_name, attempt.username, attempt.client_ip, reason
    )


def login_attempt_accept(attempt: LoginFailure) -> None:
    """The attempt succeeded: it no longer counts."""
    attempt.delete()
