"""Customers import: counterparties (contragents/) -> Counterparty."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message
from apps.customers.models import Counterparty

from commerceml.reader import COUNTERPARTIES, CounterpartyItem
from .record_import import FileImportResult, deactivate_absent, fit, import_file_in_batches, upsert_by_onec_id


def customers_import_counterparties_file(*, path: Path, sync_mark: datetime) -> FileImportResult:
    return import_file_in_batches(
        path=path, spec=COUNTERPARTIES, write_batch=lambda items, result: _upsert_counterparties(items, sync_mark, result)
    )


def _upsert_counterparties(items: list[CounterpartyItem], sync_mark: datetime, result: FileImportResult) -> None:
    rows = []
    for item in items:
        codes = {}
        for field_name, label, value, limit in (("inn", "INN", item.inn, 12), ("kpp", "KPP", item.kpp, 9)):
            valid = not value or (value.isdigit() and len(value) <= limit)
            codes[field_name] = value if valid else ""
            if not valid:
                result.add_error(
                    product=item.onec_id,
                    reason=Message(
                        gettext_noop(
                            "counterparty %(id)s (%(name)s): %(code)s %(value)s is not up to %(limit)s "
                            "digits; stored without it, correct it in 1C"
                        ),
                        id=item.onec_id, name=item.name, code=label, value=repr(value), limit=limit,
                    ),
                )
        rows.append(
            Counterparty(
                onec_id=item.onec_id,
                name=fit(Counterparty, "name", item.name),
                full_name=fit(Counterparty, "full_name", item.full_name),
                role=fit(Counterparty, "role", item.role),
                is_active=not item.is_deleted,
                synced_at=sync_mark,
                **codes,
            )
        )
    upsert_by_onec_id(
        Counterparty,
        rows,
        update_fields=["name", "full_name", "inn", "kpp", "role", "is_active", "synced_at"],
        result=result,
        prefix="",
    )
    result.counters["deactivated"] += sum(item.is_deleted for item in items)


def customers_deactivate_absent(*, sync_mark: datetime) -> dict:
    return {"absent": deactivate_absent(Counterparty, sync_mark=sync_mark)}
