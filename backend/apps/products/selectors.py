"""Read-only product queries."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef, Q

from apps.media.models import StoredImage

from .models import Category, Product, SitePhoto


def products_on_storefront():
    """The products the storefront shows: those 1C keeps active and the site has on."""
    return Product.objects.filter(is_active=True, on_site=True)


def product_photo_conditions() -> tuple[Q, Q]:
    """(has a main photo, has no photo at all) as conditions on products, by the rule of
    `product_pictures`: 1C's main image, or, while 1C sends no photo, the site's first
    ready photo; a product with only photos added on the site has a photo."""
    no_onec_photo = Q(main_image="", gallery_images=[])
    site_photo = Exists(SitePhoto.objects.filter(product=OuterRef("pk"), status=SitePhoto.Status.READY))
    return ~Q(main_image="") | (no_onec_photo & site_photo), no_onec_photo & ~site_photo


@dataclass(frozen=True)
class CategoryTree:
    """The goods groups as 1C nests them, read in one query whatever their depth."""

    parents: dict[int, int | None]  # group id -> its parent's (None: top level)
    names: dict[int, str]
    with_products: frozenset[int]  # the groups products belong to directly

    @cached_property
    def children(self) -> dict[int | None, list[int]]:
        children: dict[int | None, list[int]] = {}
        for group_id, parent_id in self.parents.items():
            children.setdefault(parent_id, []).append(group_id)
        return children

    def subtree_ids(self, group_ids: Iterable[int]) -> set[int]:
        """The groups and all their sub-groups, at any depth (a loop in 1C's parents ends)."""
        found: set[int] = set()
        pending = list(group_ids)
        while pending:
            group_id = pending.pop()
            if group_id not in found:
                found.add(group_id)
                pending += self.children.get(group_id, ())
        return found

    def choices(self) -> list[tuple[int, str]]:
        """(id, name) of the groups with products in their subtree, parents before their
        sub-groups, siblings by name, each name indented by its depth."""
        offered: set[int] = set()
        for group_id in self.with_products:  # and their parents, up to the top
            while group_id is not None and group_id not in offered:
                offered.add(group_id)
                group_id = self.parents[group_id]
        choices: list[tuple[int, str]] = []
        pending = [(group_id, 0) for group_id in self._by_name(self.children.get(None, ()), offered, reverse=True)]
        seen: set[int] = set()
        while pending or offered - seen:
            if not pending:  # groups whose parents loop back to them: shown at the top level
                pending = [(self._by_name(offered - seen, offered)[0], 0)]
            group_id, depth = pending.pop()
            if group_id in seen:
                continue
            seen.add(group_id)
            choices.append((group_id, "— " * depth + self.names[group_id]))
            pending += [(child, depth + 1) for child in self._by_name(self.children.get(group_id, ()), offered, reverse=True)]
        return choices

    def _by_name(self, group_ids: Iterable[int], offered: set[int], *, reverse: bool = False) -> list[int]:
        """The offered ones of `group_ids` by name (reversed: to be popped off a stack in order)."""
        return sorted((group_id for group_id in group_ids if group_id in offered),
                      key=lambda group_id: (self.names[group_id].casefold(), group_id), reverse=reverse)


def category_tree() -> CategoryTree:
    """Every goods group with its parent and whether products belong to it, in one query."""
    rows = list(Category.objects.annotate(
        has_products=Exists(Product.objects.filter(category=OuterRef("pk")))
    ).values_list("id", "parent_id", "name", "onec_id", "has_products"))
    names = {group_id: name or onec_id for group_id, _parent_id, name, onec_id, _has_products in rows}
    return CategoryTree(
        parents={group_id: parent_id if parent_id in names else None for group_id, parent_id, *_ in rows},
        names=names,
        with_products=frozenset(group_id for group_id, *_, has_products in rows if has_products),
    )


def product_active_count() -> int:
    return Product.objects.filter(is_active=True).count()


def product_active_id_batches(*, batch_size: int) -> Iterator[list[int]]:
    """Active product ids in id order, `batch_size` at a time, streamed from the database."""
    batch: list[int] = []
    for product_id in Product.objects.filter(is_active=True).order_by("id").values_list("id", flat=True).iterator(
        chunk_size=2000
    ):
        batch.append(product_id)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class PictureRendition:
    """A web rendition of a picture (ONEC_IMAGE_RENDITIONS)."""

    format: str  # "webp" or "jpeg"
    width: int
    height: int
    url: str
    size: int

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"


@dataclass(frozen=True)
class ProductPicture:
    """One of a product's pictures as the storefront and the admin show it: main first,
    then the gallery in 1C's order, then the photos added on the site in their order; the
    facts come from its StoredImage row, if any."""

    role: str  # "main" or "gallery"
    source: str  # "1c" (the exchange's) or "site" (added by hand)
    position: int
    name: str
    url: str
    width: int | None
    height: int | None
    stored_size: int | None
    content_type: str
    source_name: str
    renditions: tuple[PictureRendition, ...] = ()

    def renditions_of(self, fmt: str) -> list[PictureRendition]:
        return [rendition for rendition in self.renditions if rendition.format == fmt]


def product_pictures(*, product: Product) -> list[ProductPicture]:
    """The product's pictures in display order: 1C's main image, 1C's gallery, then the
    site's own ready photos in their order. The main image is 1C's first; while 1C sends
    none, the site's first photo is. Two queries for their facts. URLs come from the media
    storage (absolute with AWS_S3_CUSTOM_DOMAIN or an absolute MEDIA_URL)."""
    onec_names = ([product.main_image.name] if product.main_image else []) + [
        name for name in product.gallery_images if name and name != product.main_image.name
    ]
    facts = {row.name: row for row in StoredImage.objects.filter(name__in=onec_names)} if onec_names else {}
    site_rows = [
        photo.image for photo in SitePhoto.objects.filter(product=product, status=SitePhoto.Status.READY)
        .select_related("image").order_by("position", "id")
    ]
    entries = [(name, facts.get(name), "1c") for name in onec_names] + [(row.name, row, "site") for row in site_rows]
    has_main = bool(product.main_image) or not onec_names
    pictures = []
    for index, (name, row, source) in enumerate(entries):
        is_main = index == 0 and has_main
        pictures.append(
            ProductPicture(
                role="main" if is_main else "gallery",
                source=source,
                position=0 if is_main else index - has_main,
                name=name,
                url=default_storage.url(name),
                width=row.width if row else None,
                height=row.height if row else None,
                stored_size=row.stored_size if row else None,
                content_type=row.content_type if row else "",
                source_name=row.source_name if row else "",
                renditions=_picture_renditions(row.renditions) if row else (),
            )
        )
    return pictures


_FORMAT_ORDER = ("webp", "jpeg")


def _picture_renditions(entries: list[dict]) -> tuple[PictureRendition, ...]:
    """Each rendition file once (two specs may give the same file for a small photo), WebP
    first, narrowest first."""
    unique = {entry["name"]: entry for entry in entries}
    return tuple(
        PictureRendition(entry["format"], entry["width"], entry["height"], default_storage.url(name), entry["size"])
        for name, entry in sorted(
            unique.items(), key=lambda item: (_FORMAT_ORDER.index(item[1]["format"]), item[1]["width"])
        )
    )
