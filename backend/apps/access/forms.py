"""The admin's login form, with the lock-out (lockout.py) of the addresses that fail too often."""
from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, message_of, message_text

from .addresses import request_client_ip
from .lockout import WRONG_PASSWORD, LoginLockedOutError, login_attempt_accept, login_attempt_begin, login_attempt_refuse
from .models import LoginFailure


class LockOutAdminAuthenticationForm(AdminAuthenticationForm):
    """Django's admin login, refused while the client's address is locked out; a refused
    login is recorded (the admin's "Refused logins") and counts towards the lock-out."""

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()  # nothing to check a password against: the fields' own errors
        try:
            attempt = login_attempt_begin(
                entry=LoginFailure.Entry.ADMIN, client_ip=request_client_ip(self.request), username=username
            )
        except LoginLockedOutError as exc:
            raise ValidationError(message_text(message_of(exc)), code="locked_out") from None
        try:
            cleaned = super().clean()
        except ValidationError:
            login_attempt_refuse(attempt, reason=(
                WRONG_PASSWORD if self.user_cache is None
                else Message(gettext_noop("user %(user)s is not staff: only staff may use the admin"), user=repr(username))
            ))
            raise
        login_attempt_accept(attempt)
        return cleaned
