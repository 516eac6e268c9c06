"""Stocks import: warehouses (storages/) -> Warehouse, quantities (rests/) -> Stock."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, as_message
from apps.products.models import Stock, Warehouse

from commerceml.reader import OFFERS, WAREHOUSES, OfferItem, WarehouseItem
from .record_import import (
    FileImportResult,
    deactivate_absent,
    delete_absent,
    fit,
    import_file_in_batches,
    offer_targets,
    onec_id_map,
    upsert_by_onec_id,
)


def stocks_import_warehouses_file(*, path: Path, sync_mark: datetime) -> FileImportResult:
    return import_file_in_batches(
        path=path, spec=WAREHOUSES, write_batch=lambda warehouses, result: _upsert_warehouses(warehouses, sync_mark, result)
    )


def _upsert_warehouses(items: list[WarehouseItem], sync_mark: datetime, result: FileImportResult) -> None:
    upsert_by_onec_id(
        Warehouse,
        [
            Warehouse(onec_id=item.onec_id, name=fit(Warehouse, "name", item.name), is_active=not item.is_deleted, synced_at=sync_mark)
            for item in items
        ],
        update_fields=["name", "is_active", "synced_at"],
        result=result,
        prefix="warehouses_",
    )


def stocks_import_rests_file(*, path: Path, sync_mark: datetime) -> FileImportResult:
    """Each offer's quantities replace what the offer had: 1C sends every warehouse of an
    offer it mentions. An offer whose goods are unknown is counted and reported."""
    return import_file_in_batches(
        path=path, spec=OFFERS, write_batch=lambda offers, result: _replace_stocks([offer for offer in offers if offer.stocks is not None], sync_mark, result)
    )


def _replace_stocks(offers: list[OfferItem], sync_mark: datetime, result: FileImportResult) -> None:
    targets = offer_targets(offer.onec_id for offer in offers)
    warehouses = onec_id_map(Warehouse, (s.warehouse_id for offer in offers for s in offer.stocks if s.warehouse_id))
    rows: dict[tuple[str, int | None], Stock] = {}
    for offer in offers:
        for problem in offer.problems:
            result.add_error(product=offer.onec_id, reason=as_message(problem))
        target = targets.get(offer.onec_id)
        if target is None:
            result.add_unknown_offer(offer.onec_id)
            continue
        result.counters["offers"] += 1
        for stock in offer.stocks:
            warehouse_pk = warehouses.get(stock.warehouse_id) if stock.warehouse_id else None
            if stock.warehouse_id and warehouse_pk is None:
                result.counters["unknown_warehouses"] += 1
                result.add_error(
                    product=offer.onec_id,
                    reason=Message(
                        gettext_noop(
                            "offer %(id)s: warehouse %(warehouse)s is not known; import the "
                            "exchange's storages/ (warehouses) with the stocks"
                        ),
                        id=offer.onec_id, warehouse=stock.warehouse_id,
                    ),
                )
                continue
            rows[(offer.onec_id, warehouse_pk)] = Stock(
                offer_onec_id=offer.onec_id,
                product_id=target.product_id,
                variant_id=target.variant_id,
                warehouse_id=warehouse_pk,
                quantity=stock.quantity,
                synced_at=sync_mark,
            )
    known = [offer.onec_id for offer in offers if offer.onec_id in targets]
    Stock.objects.filter(offer_onec_id__in=known).delete()
    Stock.objects.bulk_create(list(rows.values()))
    result.counters["stocks"] += len(rows)


def stocks_deactivate_absent_warehouses(*, sync_mark: datetime) -> dict:
    return {"warehouses_absent": deactivate_absent(Warehouse, sync_mark=sync_mark)}


def stocks_delete_absent(*, sync_mark: datetime) -> dict:
    return {"absent": delete_absent(Stock, sync_mark=sync_mark)}
