"""Prices import: price types (priceLists/) -> PriceType, offer prices (prices/) -> Price."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, as_message
from apps.products.models import Price, PriceType

from commerceml.reader import OFFERS, PRICE_TYPES, OfferItem, PriceTypeItem
from .record_import import (
    FileImportResult,
    deactivate_absent,
    delete_absent,
    fit,
    import_file_in_batches,
    offer_targets,
    upsert_by_onec_id,
)


def prices_import_price_types_file(*, path: Path, sync_mark: datetime) -> FileImportResult:
    return import_file_in_batches(
        path=path, spec=PRICE_TYPES, write_batch=lambda price_types, result: _upsert_price_types(price_types, sync_mark, result)
    )


def _upsert_price_types(items: list[PriceTypeItem], sync_mark: datetime, result: FileImportResult) -> None:
    upsert_by_onec_id(
        PriceType,
        [
            PriceType(
                onec_id=item.onec_id, name=fit(PriceType, "name", item.name), currency=fit(PriceType, "currency", item.currency),
                is_active=not item.is_deleted, synced_at=sync_mark,
            )
            for item in items
        ],
        update_fields=["name", "currency", "is_active", "synced_at"],
        result=result,
        prefix="price_types_",
    )


def prices_import_prices_file(*, path: Path, sync_mark: datetime) -> FileImportResult:
    """Each offer's prices per price type. An offer id without `#` is the goods' own
    price; an offer whose goods are unknown is counted and reported."""
    return import_file_in_batches(
        path=path, spec=OFFERS, write_batch=lambda offers, result: _upsert_prices([offer for offer in offers if offer.prices is not None], sync_mark, result)
    )


def _upsert_prices(offers: list[OfferItem], sync_mark: datetime, result: FileImportResult) -> None:
    targets = offer_targets(offer.onec_id for offer in offers)
    price_types = {
        onec_id: (pk, currency)
        for onec_id, pk, currency in PriceType.objects.filter(
            onec_id__in={price.price_type_id for offer in offers for price in offer.prices}
        ).values_list("onec_id", "id", "currency")
    }
    rows: dict[tuple[str, int], Price] = {}
    for offer in offers:
        for problem in offer.problems:
            result.add_error(product=offer.onec_id, reason=as_message(problem))
        target = targets.get(offer.onec_id)
        if target is None:
            result.add_unknown_offer(offer.onec_id)
            continue
        result.counters["offers"] += 1
        for price in offer.prices:
            if price.price_type_id not in price_types:
                result.counters["unknown_price_types"] += 1
                result.add_error(
                    product=offer.onec_id,
                    reason=Message(
                        gettext_noop(
                            "offer %(id)s: price type %(type)s is not known; import the "
                            "exchange's priceLists/ (price types) with the prices"
                        ),
                        id=offer.onec_id, type=price.price_type_id,
                    ),
                )
                continue
            type_pk, type_currency = price_types[price.price_type_id]
            rows[(offer.onec_id, type_pk)] = Price(
                offer_onec_id=offer.onec_id,
                product_id=target.product_id,
                variant_id=target.variant_id,
                price_type_id=type_pk,
                value=price.value,
                currency=fit(Price, "currency", price.currency or type_currency),
                synced_at=sync_mark,
            )
    if not rows:
        return
    existing = set(
        Price.objects.filter(offer_onec_id__in={offer for offer, _ in rows}).values_list("offer_onec_id", "price_type_id")
    )
    Price.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["offer_onec_id", "price_type"],
        update_fields=["product", "variant", "value", "currency", "synced_at", "updated_at"],
    )
    result.count_written(prefix="", keys=list(rows), existing=existing)


def prices_deactivate_absent_price_types(*, sync_mark: datetime) -> dict:
    return {"price_types_absent": deactivate_absent(PriceType, sync_mark=sync_mark)}


def prices_delete_absent(*, sync_mark: datetime) -> dict:
    return {"absent": delete_absent(Price, sync_mark=sync_mark)}
