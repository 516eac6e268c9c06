"""Catalog (goods) import: CommerceML goods files -> Product rows."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

from django.db import transaction

from apps.products.models import Product

from ..commerceml import GoodsItem, SkippedElement, iter_goods

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class GoodsFileResult:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    error_details: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**asdict(self), "errors": len(self.error_details)}


def catalog_import_goods_file(*, path: Path) -> GoodsFileResult:
    """Create or update products by <Ид>, batch by batch; each batch is one transaction,
    so a product is written whole or not at all."""
    result = GoodsFileResult()
    records = iter_goods(path)
    while batch := list(islice(records, BATCH_SIZE)):
        goods: dict[str, GoodsItem] = {}
        for record in batch:
            if isinstance(record, SkippedElement):
                result.error_details.append({"product": "", "file": record.path, "reason": record.reason})
            else:
                goods[record.onec_id] = record
        if goods:
            _upsert_goods(list(goods.values()), result)
    logger.info("catalog %s: %d created, %d updated", path, result.created, result.updated)
    return result


def _upsert_goods(goods: list[GoodsItem], result: GoodsFileResult) -> None:
    with transaction.atomic():
        existing = set(
            Product.objects.filter(onec_id__in=[item.onec_id for item in goods]).values_list("onec_id", flat=True)
        )
        Product.objects.bulk_create(
            [
                Product(
                    onec_id=item.onec_id,
                    name=item.name[:500],
                    article=item.article[:255],
                    is_active=not item.is_deleted,
                    onec_picture_paths=list(item.picture_paths),
                )
                for item in goods
            ],
            update_conflicts=True,
            unique_fields=["onec_id"],
            update_fields=["name", "article", "is_active", "onec_picture_paths", "updated_at"],
        )
    result.created += sum(item.onec_id not in existing for item in goods)
    result.updated += sum(item.onec_id in existing for item in goods)
    result.deactivated += sum(item.is_deleted for item in goods)
