from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.products.models import SyncedFromOneC


class Counterparty(SyncedFromOneC):
    """A 1C counterparty (<Контрагент> of contragents/): a customer or a supplier."""

    name = models.CharField(_("name"), max_length=500, blank=True)
    full_name = models.CharField(_("full name"), max_length=1000, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True, db_index=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    role = models.CharField(_("role"), max_length=100, blank=True, help_text=_("As 1C sent it: Покупатель, Продавец, ..."))
    is_active = models.BooleanField(_("active"), default=True, db_index=True, help_text=_("Cleared if marked for deletion in 1C."))

    class Meta:
        verbose_name = _("counterparty")
        verbose_name_plural = _("counterparties")
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id
