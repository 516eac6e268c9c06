"""Read-only queries of stored images."""
import json
from collections.abc import Iterable

from django.db.models import Lookup

from .files import ImageFacts, SourceRecord
from .models import StoredImage


class _AnyOf(Lookup):
    """`name__any_of=[...]`: on PostgreSQL `name IN (SELECT jsonb_array_elements_text(%s))`
    with the names as one JSON text parameter, `IN (...)` elsewhere. A chunk looks up
    thousands of names: as `__in`, Django prepares and psycopg parses one placeholder per
    name, a third of the CPU of a nothing-changed chunk; as one array parameter, psycopg
    still quotes every element in Python (~2.0 us of CPU per name, against 0.64 for one
    json.dumps); and a set-returning function's rows are always looked up by the unique
    index, whatever the planner's statistics (bench/RESULTS.md, issue #23). Text values
    only."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*lhs_params, *self.rhs]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN (SELECT jsonb_array_elements_text(%s::jsonb))", [*lhs_params, json.dumps(self.rhs)]


StoredImage._meta.get_field("name").register_lookup(_AnyOf)


def stored_image_facts(*, names: Iterable[str]) -> dict[str, tuple[int, "ImageFacts"]]:
    """The StoredImage rows of these media names: name -> (row id, facts); one query."""
    names = list(names)
    if not names:
        return {}
    facts = tuple(ImageFacts.__dataclass_fields__)
    rows = StoredImage.objects.filter(name__any_of=names).values_list("id", "name", *facts)
    return {row[1]: (row[0], ImageFacts(*row[2:])) for row in rows}


def stored_image_records(*, names: list[str], renditions: bool) -> dict[str, SourceRecord]:
    """The StoredImage rows of these media names: name -> the facts that decide "unchanged";
    one query, by the unique index on the name (the products' links would be fewer bytes to
    send, but without statistics, right after a cold import, PostgreSQL joins them by
    scanning every row). Five columns into tuples instead of ImageFacts, the names as one
    JSON text: ~4.7 -> ~1.5 us of CPU per photo (bench/RESULTS.md, issue #23).
    `renditions`: the renditions too (their JSON is decoded only when asked)."""
    if not names:
        return {}
    columns = ["name", *SourceRecord._fields[:4], *(("renditions",) if renditions else ())]
    rows = StoredImage.objects.filter(name__any_of=names).values_list(*columns)
    return {row[0]: SourceRecord(*row[1:]) for row in rows}


def stored_image_links(*, product_ids: list[int]) -> dict[int, dict[int, int]]:
    """Which StoredImage rows each product shows: product id -> {row id: link id}."""
    links: dict[int, dict[int, int]] = {}
    through = StoredImage.products.through
    for link_id, product_id, record_id in through.objects.filter(product_id__in=product_ids).values_list(
        "id", "product_id", "storedimage_id"
    ):
        links.setdefault(product_id, {})[record_id] = link_id
    return links
