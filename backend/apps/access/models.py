"""Refused logins: the record the lock-out counts per client address and entry point."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.i18n.messages import message_text


class LoginFailure(models.Model):
    """A refused login (or one being checked: rows are written before the password is
    checked, so attempts made at once count each other; a login that succeeds drops its row)."""

    class Entry(models.TextChoices):
        ADMIN = "admin", _("admin login")
        EXCHANGE_1C = "exchange_1c", _("1C exchange")

    entry = models.CharField(_("entry point"), max_length=20, choices=Entry.choices, default=Entry.EXCHANGE_1C)
    client_ip = models.GenericIPAddressField(_("address"), null=True, db_index=True)
    username = models.CharField(_("user name"), max_length=150, blank=True)
    reason = models.CharField(_("reason"), max_length=200)  # English: the logs', and rows stored before reason_message
    # The reason as a stored apps.i18n Message, shown in the site's language; empty for rows
    # stored before: their `reason` is shown as it is.
    reason_message = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        # The table the 1C exchange's refused logins were written to since the first release.
        db_table = "integrations_exchangeauthfailure"
        verbose_name = _("refused login")
        verbose_name_plural = _("refused logins")
        ordering = ["-created_at"]

    @property
    def reason_text(self) -> str:
        return message_text(self.reason_message or self.reason)

    def __str__(self):
        return f"{self.get_entry_display()}: {self.username or '—'} @ {self.client_ip}"
