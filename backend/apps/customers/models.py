from django.db import models

from apps.products.models import SyncedFromOneC


class Counterparty(SyncedFromOneC):
    """A 1C counterparty (<Контрагент> of contragents/): a customer or a supplier."""

    name = models.CharField("наименование", max_length=500, blank=True)
    full_name = models.CharField("полное наименование", max_length=1000, blank=True)
    inn = models.CharField("ИНН", max_length=12, blank=True, db_index=True)
    kpp = models.CharField("КПП", max_length=9, blank=True)
    role = models.CharField("роль", max_length=100, blank=True, help_text="Как её передала 1С: Покупатель, Продавец, ...")
    is_active = models.BooleanField("активен", default=True, db_index=True, help_text="Снят, если в 1С помечен на удаление.")

    class Meta:
        verbose_name = "контрагент"
        verbose_name_plural = "контрагенты"
        ordering = ["id"]

    def __str__(self):
        return self.name or self.onec_id
