"""What every 1C file import shares: importing a file and removing what a full exchange no
longer has with its kind's services, reading records in batches, the per-file result,
finding the goods behind offer ids, and the rule for rows a full exchange no longer has."""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path

from django.db import models, transaction
from django.db.models import OuterRef, Subquery

from apps.i18n.messages import Message, as_message
from apps.products.models import Price, Product, ProductVariant, Stock

from commerceml.reader import ExchangeDocument, RecordSpec, SkippedElement, split_offer_id

from ..import_types import exchange_kind_spec

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
DETAILS_LIMIT = 200


def exchange_import_file(*, kind: str, path: Path, sync_mark: datetime, context: dict | None = None) -> dict:
    """Write one exchange file's records with its kind's service (`context` is passed on)."""
    service = exchange_kind_spec(kind).import_file_service()
    return service(path=path, sync_mark=sync_mark, **(context or {})).as_dict()


def exchange_remove_absent(*, kind: str, sync_mark: datetime) -> dict:
    """After a full exchange of `kind`: deactivate or delete what 1C no longer sends."""
    return exchange_kind_spec(kind).remove_absent_service()(sync_mark=sync_mark)


@dataclass
class FileImportResult:
    """What importing one file did. `counters` are named for the report (created,
    updated, groups_created, ...); details lists are capped, their counts are not."""

    path: str
    counters: Counter = field(default_factory=Counter)
    errors: int = 0
    error_details: list[dict] = field(default_factory=list)
    unknown_offer_ids: list[str] = field(default_factory=list)
    full_exchange: bool = False

    def add_error(self, *, reason: Message | str, product: str = "") -> None:
        """Record a refused record: the reason in English (logs, older readers) and, when it
        is a Message, as the stored message the admin shows in the site's language."""
        self.errors += 1
        if len(self.error_details) < DETAILS_LIMIT:
            error = {"product": product, "file": self.path, "reason": str(reason)}
            if isinstance(reason, Message):
                error["message"] = reason.as_json()
            self.error_details.append(error)

    def add_unknown_offer(self, offer_id: str) -> None:
        self.counters["unknown_offers"] += 1
        if len(self.unknown_offer_ids) < DETAILS_LIMIT:
            self.unknown_offer_ids.append(offer_id)

    def count_written(self, *, prefix: str, keys: list, existing: set) -> None:
        created = sum(key not in existing for key in keys)
        self.counters[f"{prefix}created"] += created
        self.counters[f"{prefix}updated"] += len(keys) - created

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "counters": dict(self.counters),
            "errors": self.errors,
            "error_details": self.error_details,
            "unknown_offer_ids": self.unknown_offer_ids,
            "full_exchange": self.full_exchange,
        }


def import_file_in_batches(
    *, path: Path, spec: RecordSpec, write_batch: Callable[[list, FileImportResult], None]
) -> FileImportResult:
    """Read one exchange file's records of `spec` and write them batch by batch, each batch
    in one transaction, so a record is written whole or not at all."""
    result = FileImportResult(path=str(path))
    for batch in record_batches(ExchangeDocument(path), spec, result):
        with transaction.atomic():
            write_batch(batch, result)
    logger.info("%s: %s", path, dict(result.counters))
    return result


def record_batches(exchange: ExchangeDocument, spec: RecordSpec, result: FileImportResult) -> Iterator[list]:
    """The file's records, BATCH_SIZE at a time, the last of each id winning within a
    batch; unreadable elements become errors of `result`."""
    records = exchange.records(spec)
    while batch := list(islice(records, BATCH_SIZE)):
        by_id: dict[str, object] = {}
        for record in batch:
            if isinstance(record, SkippedElement):
                result.add_error(reason=as_message(record.reason))
            else:
                by_id[record.onec_id] = record
        if by_id:
            yield list(by_id.values())
    result.full_exchange = exchange.is_full_exchange


def fit(model: type[models.Model], field_name: str, text: str) -> str:
    """Text cut to the column's length (1C names can be longer than a site needs)."""
    return text[: model._meta.get_field(field_name).max_length]


def onec_id_map(model: type[models.Model], onec_ids) -> dict[str, int]:
    """onec_id -> pk for the rows that exist."""
    return dict(model.objects.filter(onec_id__in=set(onec_ids)).values_list("onec_id", "id"))


def upsert_by_onec_id(
    model: type[models.Model], rows: list[models.Model], *, update_fields: list[str], result: "FileImportResult", prefix: str
) -> None:
    """Create or update `rows` by onec_id in one statement; count created and updated."""
    keys = [row.onec_id for row in rows]
    existing = set(onec_id_map(model, keys))
    model.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["onec_id"], update_fields=[*update_fields, "updated_at"]
    )
    result.count_written(prefix=prefix, keys=keys, existing=existing)


@dataclass(frozen=True)
class OfferTarget:
    product_id: int
    variant_id: int | None


def offer_targets(offer_ids) -> dict[str, OfferTarget]:
    """The offers whose goods are in the catalog, with their variant when it is known.
    An offer whose goods are unknown is absent: callers report it, nothing is guessed."""
    parts = {offer_id: split_offer_id(offer_id) for offer_id in set(offer_ids)}
    products = onec_id_map(Product, (goods_id for goods_id, _ in parts.values()))
    variants = onec_id_map(ProductVariant, (offer_id for offer_id, (_, char_id) in parts.items() if char_id))
    return {
        offer_id: OfferTarget(product_id=products[goods_id], variant_id=variants.get(offer_id))
        for offer_id, (goods_id, _) in parts.items()
        if goods_id in products
    }


def link_offer_rows_to_variants(offer_ids: list[str]) -> None:
    """Prices and stocks that arrived before their variant point to it once it exists."""
    variant = ProductVariant.objects.filter(onec_id=OuterRef("offer_onec_id")).values("id")[:1]
    for model in (Price, Stock):
        model.objects.filter(offer_onec_id__in=offer_ids, variant__isnull=True).update(variant_id=Subquery(variant))


def deactivate_absent(model: type[models.Model], *, sync_mark: datetime) -> int:
    """After a full exchange: active rows this run did not write are gone from 1C."""
    return model.objects.filter(is_active=True).exclude(synced_at=sync_mark).update(is_active=False)


def delete_absent(model: type[models.Model], *, sync_mark: datetime) -> int:
    """After a full exchange of prices or stocks: rows this run did not write are stale."""
    deleted, _ = model.objects.exclude(synced_at=sync_mark).delete()
    return deleted
