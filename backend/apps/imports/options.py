"""The options of an image import, in one object: built once where a run is asked for (the
import page, the command line; the 1C exchange takes the defaults, the nightly schedule
prefect.yaml's values) and passed as it is through the flow to every chunk.

The image flows take it as their `options` parameter; Prefect validates the parameter's
JSON (a deployment's, or a schedule's) into this dataclass, and `as_parameters()` is that
JSON. The registry (`import_types`) names it as the options of the images type.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from django.conf import settings

# The deployment that runs one shard of a sharded image import (prefect.yaml): the images
# flow starts its runs, the import page asks whether its pool has workers.
SHARD_FLOW = "import-images-shard"
SHARD_DEPLOYMENT = f"{SHARD_FLOW}/images-shard"


# Every chunk is a Prefect task run, a fixed cost however few of its photos changed; beyond
# ONEC_IMAGE_CHUNK_SIZE x CHUNKS_PER_RUN products the chunks grow instead of multiplying, so a
# nothing-changed night stays a fixed start plus work per product (bench/RESULTS.md, #23).
# Grown chunks stop at CHUNK_SIZE_GROWS_TO products: a retried chunk redoes at most that many.
# Their size needs no time budget: ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS counts from a chunk's
# last stored photo, not from its start.
CHUNKS_PER_RUN = 50
CHUNK_SIZE_GROWS_TO = 2000


@dataclass(frozen=True)
class ImageImportOptions:
    """`validate_images`: decode every photo before it is stored. `dry_run`: report what
    would change, write nothing. `mirror`: make each product's pictures equal to 1C's
    current <Картинка> list (by default photos are only added). `verify_storage`: check
    every recorded object in media storage and upload again what is missing or wrong.
    `rebuild_renditions`: remake every photo's renditions (by default only missing ones).
    `shards` > 1: spread the chunks over that many flow runs of the shard deployment.
    `chunk_size`: products per chunk (None: chosen from the catalog size, `with_chunk_size`)."""

    validate_images: bool = False
    dry_run: bool = False
    mirror: bool = False
    verify_storage: bool = False
    rebuild_renditions: bool = False
    shards: int = 1
    chunk_size: int | None = None

    @classmethod
    def from_form(cls, cleaned_data: Mapping[str, Any]) -> ImageImportOptions:
        """The import page's choice (ImportStartForm; the page has no chunk size)."""
        return cls(**{field.name: cleaned_data[field.name] for field in fields(cls) if field.name in cleaned_data})

    @classmethod
    def from_cli(cls, options: Mapping[str, Any]) -> ImageImportOptions:
        """`import_1c`'s flags (`--validate-images`, `--chunk-size`, `--shards`, ...); a
        flag not given keeps the default."""
        return cls(**{field.name: options[field.name] for field in fields(cls) if options.get(field.name) is not None})

    def as_parameters(self) -> dict[str, Any]:
        """The flow parameter's JSON (what a deployment run and its session record)."""
        return asdict(self)

    def with_chunk_size(self, *, products: int) -> ImageImportOptions:
        """These options with the chunk size a run over `products` uses, unless one was given:
        ONEC_IMAGE_CHUNK_SIZE (read now), grown so the run maps at most CHUNKS_PER_RUN chunks,
        but not past CHUNK_SIZE_GROWS_TO (docs/import-types.md, "Chunk size")."""
        if self.chunk_size:
            return self
        grown = min(-(-products // CHUNKS_PER_RUN), CHUNK_SIZE_GROWS_TO)
        return replace(self, chunk_size=max(settings.ONEC_IMAGE_CHUNK_SIZE, grown))
