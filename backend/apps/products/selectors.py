"""Read-only product queries."""
from collections.abc import Iterator

from .models import Product


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
