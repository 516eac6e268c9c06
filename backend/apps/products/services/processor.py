"""Importing product photos from a 1C exchange into media storage.

One rule set, used by the seeds' `ProductDataProcessor.import_product_images`, by the
chunk service the Prefect flow calls, and so by the CLI and the admin alike.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.core.files.storage import Storage, default_storage

from ..exceptions import ImageImportError
from ..models import Product
from .image_files import StoreOutcome, check_image_file, resolve_source_image, store_image
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
    errors: list[ImageFileError] = field(default_factory=list)
    changed: bool = False


def merge_product_images(
    *,
    onec_id: str,
    main_image: str,
    gallery_images: list[str],
    image_paths: list[str],
    images_dir: Path,
    validate_images: bool,
    storage: Storage,
) -> ProductImagesResult:
    """Store each source image and fold it into the product's pictures.

    The first image becomes the main image unless one is set; the others join the gallery
    once, in order. A bad file is recorded and the rest still go in; nothing is removed.
    """
    result = ProductImagesResult(main_image=main_image or "", gallery_images=list(gallery_images or []))
    seen: set[str] = set()
    for image_path in image_paths:
        try:
            source = resolve_source_image(image_path, images_dir)
            if source.relative_name in seen:
                continue
            seen.add(source.relative_name)
            outcome = store_image(
                source, storage, before_write=lambda: check_image_file(source.path, decode=validate_images)
            )
        except ImageImportError as exc:
            result.errors.append(ImageFileError(product=onec_id, file=image_path, reason=str(exc)))
            continue
        except OSError as exc:
            result.errors.append(
                ImageFileError(product=onec_id, file=image_path, reason=f"{image_path}: {exc.strerror or exc}")
            )
            continue
        if outcome is StoreOutcome.UNCHANGED:
            result.skipped += 1
        else:
            result.copied += 1
            result.replaced += outcome is StoreOutcome.REPLACED
        media_name = source.media_name
        if not result.main_image:
            result.main_image = media_name
            result.changed = True
        elif media_name != result.main_image and media_name not in result.gallery_images:
            result.gallery_images.append(media_name)
            result.changed = True
    return result


@dataclass
class ChunkImportResult:
    """What one chunk of products did; `products_without_images` counts products."""

    processed: int = 0
    copied: int = 0
    replaced: int = 0
    skipped: int = 0
    products_without_images: int = 0
    error_details: list[ImageFileError] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return len(self.error_details)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["errors"] = self.errors
        data["error_details"] = [asdict(error) for error in self.error_details]
        return data


def product_images_import_chunk(
    *, product_ids: list[int], images_dir: Path, validate_images: bool = False, storage: Storage | None = None
) -> ChunkImportResult:
    """Import the photos of a batch of products: one read query, one bulk update."""
    storage = storage or default_storage
    chunk = ChunkImportResult()
    changed: list[Product] = []
    products = Product.objects.filter(pk__in=product_ids).only(
        "id", "onec_id", "main_image", "gallery_images", "onec_picture_paths"
    )
    for product in products:
        chunk.processed += 1
        paths = product_image_paths(
            onec_id=product.onec_id, picture_paths=product.onec_picture_paths, images_dir=images_dir
        )
        if not paths:
            chunk.products_without_images += 1
            continue
        result = merge_product_images(
            onec_id=product.onec_id,
            main_image=product.main_image.name,
            gallery_images=product.gallery_images,
            image_paths=paths,
            images_dir=images_dir,
            validate_images=validate_images,
            storage=storage,
        )
        chunk.copied += result.copied
        chunk.replaced += result.replaced
        chunk.skipped += result.skipped
        chunk.error_details.extend(result.errors)
        if result.changed:
            product.main_image.name = result.main_image
            product.gallery_images = result.gallery_images
            changed.append(product)
    if changed:
        # Only the image fields: concurrent edits of names, prices, ... are not overwritten.
        Product.objects.bulk_update(changed, ["main_image", "gallery_images"])
    logger.info(
        "image chunk: %d products, %d copied, %d up to date, %d errors",
        chunk.processed, chunk.copied, chunk.skipped, chunk.errors,
    )
    return chunk


class ProductDataProcessor:
    """The seeds' entry point, kept with its signature and return shape."""

    def __init__(self, storage: Storage | None = None):
        self.storage = storage or default_storage

    def import_product_images(
        self, product: Product, image_paths: list[str], base_dir: str | Path, validate_images: bool = False
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
        )
        for error in result.errors:
            logger.warning("product %s: %s", error.product, error.reason)
        if result.changed:
            product.main_image.name = result.main_image
            product.gallery_images = result.gallery_images
            product.save(update_fields=["main_image", "gallery_images"])
        return {"copied": result.copied, "skipped": result.skipped, "errors": len(result.errors)}
