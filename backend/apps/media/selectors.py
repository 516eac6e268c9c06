"""Read-only queries of stored images."""
from collections.abc import Iterable

from django.db.models import Lookup

from .files import ImageFacts, SourceRecord
from .models import StoredImage


class _AnyOf(Lookup):
    """`name__any_of=[...]`: `name = ANY(%s)` with the list as one array parameter on
    PostgreSQL, `IN (...)` elsewhere. A chunk looks up thousands of names: as `__in`,
    Django prepares and psycopg parses one placeholder per name, a third of the CPU of a
    nothing-changed chunk (bench/RESULTS.md, issue #23)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*lhs_params, *self.rhs]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]


StoredImage._meta.get_field("name").register_lookup(_AnyOf)
StoredImage.products.through._meta.get_field("product").register_lookup(_AnyOf)


def stored_image_facts(*, names: Iterable[str]) -> dict[str, tuple[int, "ImageFacts"]]:
    """The StoredImage rows of these media names: name -> (row id, facts); one query."""
    names = list(names)
    if not names:
        return {}
    facts = tuple(ImageFacts.__dataclass_fields__)
    rows = StoredImage.objects.filter(name__any_of=names).values_list("id", "name", *facts)
    return {row[1]: (row[0], ImageFacts(*row[2:])) for row in rows}


def stored_image_records_shown(*, product_ids: list[int], renditions: bool) -> dict[str, SourceRecord]:
    """The StoredImage rows these products show, found by their links: name -> the facts
    that decide "unchanged"; one query. Sending the products' ids instead of their photos'
    names, and reading five columns into tuples instead of ImageFacts, took a
    nothing-changed chunk's lookup from ~4.7 to ~0.9 us of CPU per photo (bench/RESULTS.md,
    issue #23). `renditions`: the renditions too (their JSON is decoded only when asked)."""
    if not product_ids:
        return {}
    columns = ["storedimage__name", *(f"storedimage__{name}" for name in SourceRecord._fields[:4])]
    if renditions:
        columns.append("storedimage__renditions")
    rows = StoredImage.products.through.objects.filter(product__any_of=product_ids).values_list(*columns)
    if renditions:
        return {row[0]: SourceRecord(*row[1:]) for row in rows}
    return {row[0]: SourceRecord(*row[1:], []) for row in rows}


def stored_image_links(*, product_ids: list[int]) -> dict[int, dict[int, int]]:
    """Which StoredImage rows each product shows: product id -> {row id: link id}."""
    links: dict[int, dict[int, int]] = {}
    through = StoredImage.products.through
    for link_id, product_id, record_id in through.objects.filter(product_id__in=product_ids).values_list(
        "id", "product_id", "storedimage_id"
    ):
        links.setdefault(product_id, {})[record_id] = link_id
    return links
