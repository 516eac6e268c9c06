"""Refused logins: the record the lock-out counts per client address and entry point."""
from django.db import models


class LoginFailure(models.Model):
    """A refused login (or one being checked: rows are written before the password is
    checked, so attempts made at once count each other; a login that succeeds drops its row)."""

    class Entry(models.TextChoices):
        ADMIN = "admin", "вход в админку"
        EXCHANGE_1C = "exchange_1c", "обмен с 1С"

    entry = models.CharField("куда", max_length=20, choices=Entry.choices, default=Entry.EXCHANGE_1C)
    client_ip = models.GenericIPAddressField("адрес", null=True, db_index=True)
    username = models.CharField("пользователь", max_length=150, blank=True)
    reason = models.CharField("причина", max_length=200)
    created_at = models.DateTimeField("когда", auto_now_add=True, db_index=True)

    class Meta:
        # The table the 1C exchange's refused logins were written to since the first release.
        db_table = "integrations_exchangeauthfailure"
        verbose_name = "отказ во входе"
        verbose_name_plural = "отказы во входе"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_entry_display()}: {self.username or '—'} с {self.client_ip}"
