"""Refused logins: the record the lock-out counts per client address and entry point."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginFailure(models.Model):
    """A refused login (or one being checked: rows are written before the password is
    checked, so attempts made at once count each other; a login that succeeds drops its row)."""

    class Entry(models.TextChoices):
        ADMIN = "admin", _("admin login")
        EXCHANGE_1C = "exchange_1c", _("1C exchange")

    entry = models.CharField(_("entry point"), max_length=20, choices=Entry.choices, default=Entry.EXCHANGE_1C)
    client_ip = models.GenericIPAddressField(_("address"), null=True, db_index=True)
    username = models.CharField(_("user name"), max_length=150, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        # The table the 1C exchange's refused logins were written to since the first release.
        db_table = "integrations_exchangeauthfailure"
        verbose_name = _("refused login")
        verbose_name_plural = _("refused logins")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_entry_display()}: {self.username or '—'} @ {self.client_ip}"
