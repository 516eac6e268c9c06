"""Importing product photos from a 1C exchange into media storage.

One rule set, used by the seeds' `ProductDataProcessor.import_product_images`, by the
chunk service the Prefect flow calls, and so by the CLI and the admin alike.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.core.files.storage import Storage, default_storage, storages
from django.db import connections, router, transaction
from django.db.models import Q

from ..exceptions import ImageImportError
from ..models import Product
from .image_files import StoreOutcome, resolve_source_image, store_image
from .image_sources import product_image_paths

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageFileError:
    """One file that was not imported, and why (for reports and artifacts)."""

    product: str
    file: str
    reason: str


@dataclass
class ProductImagesResult:
    """Counts are of files: `copied` new or changed files written (of them `replaced`
    overwrote older bytes), `skipped` files already up to date in media."""

    main_image: str
    gallery_images: list[str]
    copied: int = 0
    replaced: int = 0
    skipped: int = 0
    gallery_added: int = 0
    main_image_set: bool = False
    removed: list[str] = field(default_factory=list)
    errors: list[ImageFileError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.main_image_set or bool(self.gallery_added or self.removed)


def merge_product_images(
    *,
    onec_id: str,
    main_image: str,
    gallery_images: list[str],
    image_paths: list[str],
    images_dir: Path,
    validate_images: bool,
    storage: Storage,
    dry_run: bool = False,
    mirror: bool = False,
) -> ProductImagesResult:
    """Store each source image and fold it into the product's pictures.

    Default (the seeds): the first image becomes the main image unless one is set; the
    others join the gallery once, in order; nothing is removed. `mirror`: main image and
    gallery become exactly 1C's list, except that an image whose file could not be read
    this time stays (a partial exchange must not strip a product). `dry_run`: decide and
    count everything, write nothing.
    """
    old_main = main_image or ""
    old_gallery = list(gallery_images or [])
    current = {old_main, *old_gallery} - {""}
    result = ProductImagesResult(main_image=old_main, gallery_images=list(old_gallery))
    listed: list[str] = []  # media names 1C lists now, in order, that the product may show
    seen: set[str] = set()
    for image_path in image_paths:
        source = None
        try:
            source = resolve_source_image(image_path, images_dir)
            if source.relative_name in seen:
                continue
            seen.add(source.relative_name)
            outcome = store_image(source, storage, decode=validate_images, dry_run=dry_run)
        except (ImageImportError, OSError) as exc:
            reason = str(exc) if isinstance(exc, ImageImportError) else f"{image_path}: {exc.strerror or exc}"
            result.errors.append(ImageFileError(product=onec_id, file=image_path, reason=reason))
            if source is not None and source.media_name in current:
                listed.append(source.media_name)  # keep what the product already shows
            continue
        if outcome is StoreOutcome.UNCHANGED:
            result.skipped += 1
        else:
            result.copied += 1
            result.replaced += outcome is StoreOutcome.REPLACED
        listed.append(source.media_name)

    if mirror and listed:
        new_main, new_gallery = listed[0], listed[1:]
        result.removed = [name for name in [old_main, *old_gallery] if name and name not in listed]
    else:
        new_main, new_gallery = old_main, list(old_gallery)
        for name in listed:
            if not new_main:
                new_main = name
            elif name != new_main and name not in new_gallery:
                new_gallery.append(name)
    result.main_image_set = new_main != old_main
    result.gallery_added = len(set(new_gallery) - set(old_gallery) - {old_main})
    result.main_image, result.gallery_images = new_main, new_gallery
    return result


@dataclass
class ChunkImportResult:
    """What one chunk of products did. `processed` and `products_without_images` count
    products; `copied`, `replaced`, `skipped`, `errors` count files."""

    processed: int = 0
    copied: int = 0
    replaced: int = 0
    skipped: int = 0
    products_without_images: int = 0
    gallery_added: int = 0
    main_images_set: int = 0
    removed: int = 0
    error_details: list[ImageFileError] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return len(self.error_details)

    def counters(self) -> dict[str, int]:
        data = asdict(self)
        del data["error_details"]
        return {**data, "errors": self.errors}

    def error_rows(self) -> list[dict]:
        return [asdict(error) for error in self.error_details]


def product_images_import_chunk(
    *,
    product_ids: list[int],
    images_dir: Path,
    validate_images: bool = False,
    dry_run: bool = False,
    mirror: bool = False,
    storage: Storage | None = None,
) -> ChunkImportResult:
    """Import the photos of a batch of products: one read query, one bulk update."""
    storage = storage or storages["default"]  # the object itself: a lazy proxy costs per file
    chunk = ChunkImportResult()
    changed: list[tuple[int, str, list[str]]] = []
    removed: set[str] = set()
    # Plain rows, not model instances: five columns are all a chunk needs, and building
    # instances would cost more than the query.
    rows = Product.objects.filter(pk__in=product_ids).values_list(
        "id", "onec_id", "main_image", "gallery_images", "onec_picture_paths"
    )
    for product_id, onec_id, main_image, gallery_images, picture_paths in rows:
        chunk.processed += 1
        paths = product_image_paths(onec_id=onec_id, picture_paths=picture_paths, images_dir=images_dir)
        if not paths:
            chunk.products_without_images += 1
            continue
        result = merge_product_images(
            onec_id=onec_id,
            main_image=main_image,
            gallery_images=gallery_images,
            image_paths=paths,
            images_dir=images_dir,
            validate_images=validate_images,
            storage=storage,
            dry_run=dry_run,
            # Only an explicit <Картинка> list says what 1C no longer has; a folder scan can't.
            mirror=mirror and bool(picture_paths),
        )
        chunk.copied += result.copied
        chunk.replaced += result.replaced
        chunk.skipped += result.skipped
        chunk.gallery_added += result.gallery_added
        chunk.main_images_set += result.main_image_set
        chunk.removed += len(result.removed)
        chunk.error_details.extend(result.errors)
        if result.changed:
            changed.append((product_id, result.main_image, result.gallery_images))
            removed.update(result.removed)
    if changed and not dry_run:
        with transaction.atomic():
            _product_images_save(changed)
            if removed:
                transaction.on_commit(lambda: delete_unused_media(names=removed, storage=storage))
    logger.info(
        "image chunk: %d products, %d copied, %d up to date, %d errors",
        chunk.processed, chunk.copied, chunk.skipped, chunk.errors,
    )
    return chunk


def _product_images_save(changed: list[tuple[int, str, list[str]]]) -> None:
    """Write only the two image columns of (id, main_image, gallery_images) rows, so
    concurrent edits of names, prices, ... are not overwritten. One `executemany` rather
    than `bulk_update`, whose CASE expression per product is the slow part of a cold run
    (bench/RESULTS.md)."""
    meta = Product._meta
    main_field, gallery_field = meta.get_field("main_image"), meta.get_field("gallery_images")
    connection = connections[router.db_for_write(Product)]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {quote(main_field.column)} = %s, {quote(gallery_field.column)} = %s "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    rows = [
        (main_field.get_db_prep_save(main, connection), gallery_field.get_db_prep_save(gallery, connection), pk)
        for pk, main, gallery in changed
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def delete_unused_media(*, names: set[str], storage: Storage) -> list[str]:
    """Delete media files no product shows any more (mirror mode), after the commit that
    stopped showing them; a file another product still uses stays."""
    deleted = []
    for name in sorted(names):
        candidates = Product.objects.filter(Q(main_image=name) | Q(gallery_images__icontains=name)).only(
            "main_image", "gallery_images"
        )
        if any(p.main_image.name == name or name in p.gallery_images for p in candidates):
            continue
        storage.delete(name)
        deleted.append(name)
    return deleted


class ProductDataProcessor:
    """The seeds' entry point, kept with its signature and return shape."""

    def __init__(self, storage: Storage | None = None):
        self.storage = storage or default_storage

    def import_product_images(
        self,
        product: Product,
        image_paths: list[str],
        base_dir: str | Path,
        validate_images: bool = False,
        mirror: bool = False,
    ) -> dict[str, int]:
        """Copy `image_paths` (relative to `base_dir` = goods/import_files) into media and
        set main_image / gallery_images; returns file counts copied, skipped, errors."""
        result = merge_product_images(
            onec_id=product.onec_id,
            main_image=product.main_image.name,
            gallery_images=product.gallery_images,
            image_paths=image_paths,
            images_dir=Path(base_dir),
            validate_images=validate_images,
            storage=self.storage,
            mirror=mirror,
        )
        for error in result.errors:
            logger.warning("product %s: %s", error.product, error.reason)
        if result.changed:
            product.main_image.name = result.main_image
            product.gallery_images = result.gallery_images
            with transaction.atomic():
                product.save(update_fields=["main_image", "gallery_images"])
                if result.removed:
                    transaction.on_commit(lambda: delete_unused_media(names=set(result.removed), storage=self.storage))
        return {"copied": result.copied, "skipped": result.skipped, "errors": len(result.errors)}
