"""Read-only queries of stored images."""
from collections.abc import Iterable

from .files import ImageFacts
from .models import StoredImage


def stored_image_facts(*, names: Iterable[str]) -> dict[str, tuple[int, "ImageFacts"]]:
    """The StoredImage rows of these media names: name -> (row id, facts); one query."""
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
