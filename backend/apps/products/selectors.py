"""Read-only product queries."""
from collections.abc import Iterable, Iterator

from .models import Product, StoredImage


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


def stored_image_facts(*, names: Iterable[str]) -> dict[str, tuple[int, "ImageFacts"]]:
    """The StoredImage rows of these media names: name -> (row id, facts); one query."""
    from .services.image_files import ImageFacts  # services import the selectors

    names = list(names)
    if not names:
        return {}
    fields = ("id", "name", *ImageFacts.__dataclass_fields__)
    return {
        row[1]: (row[0], ImageFacts(*row[2:]))
        for row in StoredImage.objects.filter(name__in=names).values_list(*fields)
    }


def stored_image_links(*, product_ids: list[int]) -> dict[int, dict[int, int]]:
    """Which StoredImage rows each product shows: product id -> {row id: link id}."""
    links: dict[int, dict[int, int]] = {}
    through = StoredImage.products.through
    for link_id, product_id, record_id in through.objects.filter(product_id__in=product_ids).values_list(
        "id", "product_id", "storedimage_id"
    ):
        links.setdefault(product_id, {})[record_id] = link_id
    return links
