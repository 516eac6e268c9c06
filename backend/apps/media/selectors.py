"""Read-only queries of stored images."""
from collections.abc import Iterable

from django.db.models import Lookup

from .files import ImageFacts
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


def stored_image_facts(
    *, names: Iterable[str], only: tuple[str, ...] | None = None
) -> dict[str, tuple[int, "ImageFacts"]]:
    """The StoredImage rows of these media names: name -> (row id, facts); one query.
    `only`: just these facts, the others left at ImageFacts' defaults (for deciding, not
    for writing back: e.g. no JSON of renditions to decode)."""
    names = list(names)
    if not names:
        return {}
    facts = only or tuple(ImageFacts.__dataclass_fields__)
    rows = StoredImage.objects.filter(name__any_of=names).values_list("id", "name", *facts)
    return {row[1]: (row[0], ImageFacts(**dict(zip(facts, row[2:])))) for row in rows} if only else {
        row[1]: (row[0], ImageFacts(*row[2:])) for row in rows
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
