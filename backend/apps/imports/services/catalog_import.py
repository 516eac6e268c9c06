"""Catalog import: groups -> Category tree, goods -> Product, offers -> ProductVariant."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message
from apps.products.models import Category, Product, ProductVariant

from commerceml.reader import GOODS, GROUPS, OFFERS, BrandDictionary, GoodsItem, GroupItem, OfferItem
from .record_import import (
    FileImportResult,
    deactivate_absent,
    fit,
    import_file_in_batches,
    link_offer_rows_to_variants,
    offer_targets,
    onec_id_map,
    upsert_by_onec_id,
)


def catalog_import_groups_file(*, path: Path, sync_mark: datetime) -> FileImportResult:
    """Create or update the groups of one file and hang each under its parent."""
    return import_file_in_batches(
        path=path, spec=GROUPS, write_batch=lambda groups, result: _upsert_groups(groups, sync_mark, result)
    )


def _upsert_groups(groups: list[GroupItem], sync_mark: datetime, result: FileImportResult) -> None:
    upsert_by_onec_id(
        Category,
        [
            Category(onec_id=g.onec_id, name=fit(Category, "name", g.name), is_active=not g.is_deleted, synced_at=sync_mark)
            for g in groups
        ],
        update_fields=["name", "is_active", "synced_at"],
        result=result,
        prefix="groups_",
    )
    result.counters["groups_deactivated"] += sum(g.is_deleted for g in groups)
    ids = onec_id_map(Category, [g.onec_id for g in groups] + [g.parent_id for g in groups if g.parent_id])
    # a group's parent encloses it in the XML, so it was written in this batch or an earlier one
    linked = [Category(pk=ids[g.onec_id], parent_id=ids.get(g.parent_id)) for g in groups]
    Category.objects.bulk_update(linked, ["parent"])


def catalog_import_goods_file(*, path: Path, sync_mark: datetime, brands: dict | None = None) -> FileImportResult:
    """Create or update products by <Ид>, batch by batch; each batch is one transaction,
    so a product is written whole or not at all."""
    dictionary = BrandDictionary.from_dict(brands)
    return import_file_in_batches(
        path=path, spec=GOODS, write_batch=lambda goods, result: _upsert_goods(goods, sync_mark, dictionary, result)
    )


def _upsert_goods(goods: list[GoodsItem], sync_mark: datetime, brands: BrandDictionary, result: FileImportResult) -> None:
    existing = set(onec_id_map(Product, (item.onec_id for item in goods)))
    categories = onec_id_map(Category, (item.group_id for item in goods if item.group_id))
    products = []
    for item in goods:
        if item.group_id and item.group_id not in categories:
            result.add_error(
                product=item.onec_id,
                reason=Message(
                    gettext_noop(
                        "goods %(id)s (%(name)s): group %(group)s is not in the database; "
                        "stored without a group (import the catalog with its groups/ folder)"
                    ),
                    id=item.onec_id, name=item.name, group=item.group_id,
                ),
            )
        brand, brand_id = brands.brand_of(item)
        products.append(
            Product(
                onec_id=item.onec_id,
                name=fit(Product, "name", item.name),
                article=fit(Product, "article", item.article),
                description=item.description,
                category_id=categories.get(item.group_id),
                brand=fit(Product, "brand", brand),
                brand_onec_id=fit(Product, "brand_onec_id", brand_id),
                is_active=not item.is_deleted,
                onec_picture_paths=list(item.picture_paths),
                synced_at=sync_mark,
            )
        )
    Product.objects.bulk_create(
        products,
        update_conflicts=True,
        unique_fields=["onec_id"],
        update_fields=[
            "name", "article", "description", "category", "brand", "brand_onec_id", "is_active",
            "onec_picture_paths", "synced_at", "updated_at",
        ],
    )
    result.count_written(prefix="", keys=[item.onec_id for item in goods], existing=existing)
    result.counters["deactivated"] += sum(item.is_deleted for item in goods)
    # The import page's summary of the last catalog: what the image import will look for.
    result.counters["pictures_listed"] += sum(len(item.picture_paths) for item in goods)


def catalog_import_offers_file(*, path: Path, sync_mark: datetime) -> FileImportResult:
    """Offers `goods#characteristic` become variants of their goods; an offer whose goods
    are not in the catalog is counted and reported."""
    return import_file_in_batches(
        path=path, spec=OFFERS, write_batch=lambda offers, result: _upsert_variants(offers, sync_mark, result)
    )


def _upsert_variants(offers: list[OfferItem], sync_mark: datetime, result: FileImportResult) -> None:
    targets = offer_targets(offer.onec_id for offer in offers)
    variants = []
    for offer in offers:
        if offer.onec_id not in targets:
            result.add_unknown_offer(offer.onec_id)
        elif offer.characteristic_id:
            variants.append(offer)
    if not variants:
        return
    existing = set(onec_id_map(ProductVariant, (offer.onec_id for offer in variants)))
    ProductVariant.objects.bulk_create(
        [
            ProductVariant(
                onec_id=offer.onec_id,
                product_id=targets[offer.onec_id].product_id,
                name=fit(ProductVariant, "name", offer.name),
                article=fit(ProductVariant, "article", offer.article),
                characteristics=[{"name": name, "value": value} for name, value in offer.characteristics],
                is_active=not offer.is_deleted,
                synced_at=sync_mark,
            )
            for offer in variants
        ],
        update_conflicts=True,
        unique_fields=["onec_id"],
        update_fields=["product", "name", "article", "characteristics", "is_active", "synced_at", "updated_at"],
    )
    result.count_written(prefix="variants_", keys=[offer.onec_id for offer in variants], existing=existing)
    result.counters["variants_deactivated"] += sum(offer.is_deleted for offer in variants)
    link_offer_rows_to_variants([offer.onec_id for offer in variants])


def catalog_deactivate_absent_groups(*, sync_mark: datetime) -> dict:
    return {"groups_absent": deactivate_absent(Category, sync_mark=sync_mark)}


def catalog_deactivate_absent_goods(*, sync_mark: datetime) -> dict:
    return {"absent": deactivate_absent(Product, sync_mark=sync_mark)}


def catalog_deactivate_absent_variants(*, sync_mark: datetime) -> dict:
    return {"variants_absent": deactivate_absent(ProductVariant, sync_mark=sync_mark)}
