from django.contrib import admin
from django.utils.translation import ngettext_lazy

from .models import Counterparty


@admin.register(Counterparty)
class CounterpartyAdmin(admin.ModelAdmin):
    count_name = ngettext_lazy("%(count)s counterparty", "%(count)s counterparties", "count")
    list_display = ["onec_id", "name", "inn", "kpp", "role", "is_active"]
    list_filter = ["is_active", "role"]
    search_fields = ["onec_id", "name", "full_name", "inn"]
