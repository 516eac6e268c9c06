"""Renditions of the photos the import stores: which a photo still needs, making and writing
them next to the photos (same storage, local or S3), and deleting those no photo uses.

The image work itself is `renditions.py`; this module adds the storage and the records."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace

from django.conf import settings

from apps.i18n.messages import Message, message_of

from .models import StoredImage
from .exceptions import ImageStorageError
from .files import ImageFacts, SourceImage, SourceRecord, stored_size
from .storage import MediaStorage
from .rendering import (
    RenditionError,
    RenditionSpec,
    configured_rendition_specs,
    rendition_for,
    rendition_name,
    rendition_source_sha256,
    renditions_make,
    renditions_spec_key,
)

logger = logging.getLogger(__name__)

# A rendition's name means the same pixels forever (it carries the source's hash and the
# encoder version), so browsers and CDNs may keep it for a year without asking again.
RENDITION_CACHE_CONTROL = "public, max-age=31536000, immutable"

_render_slots: threading.BoundedSemaphore | None = None
_render_slots_lock = threading.Lock()


@dataclass(frozen=True)
class RenditionPlan:
    """What the run makes: the configured specs (empty: renditions off) and whether to remake
    the existing ones (`import_1c images --rebuild-renditions`)."""

    specs: tuple[RenditionSpec, ...] = ()
    rebuild: bool = False

    @classmethod
    def configured(cls, *, rebuild: bool = False) -> RenditionPlan:
        return cls(configured_rendition_specs(), rebuild)

    @property
    def spec_key(self) -> str:
        return renditions_spec_key(self.specs)

    def needed(self, facts: ImageFacts | SourceRecord | None) -> bool:
        """Whether a photo with these recorded facts needs renditions made: no decode at all
        while they were made for the same spec."""
        return bool(self.specs) and (self.rebuild or facts is None or facts.renditions_spec != self.spec_key)


@dataclass(frozen=True)
class RenditionsUpdate:
    """One photo's renditions after `image_renditions_update`: its facts with the renditions
    recorded, how many were written and kept, the error (then `renditions_spec` stays empty,
    so the next run tries again) and the names it no longer uses."""

    facts: ImageFacts
    created: int = 0
    skipped: int = 0
    error: Message | str = ""  # a Message: stored with the file's errors, translated when shown
    unused: frozenset[str] = field(default_factory=frozenset)


def image_renditions_update(
    *, source: SourceImage, facts: ImageFacts, previous: ImageFacts | None, plan: RenditionPlan, storage: MediaStorage
) -> RenditionsUpdate:
    """Make the renditions `plan` asks of the photo just stored (`facts`: its current facts;
    `previous`: its record before this run), write them and record them on the facts.

    Renditions already made for these bytes and still asked for are kept (a changed spec
    makes only the missing ones); those of the previous bytes or of specs no longer asked
    for are returned as `unused`, to delete after the commit."""
    recorded = [] if plan.rebuild else [entry for entry in facts.renditions if _of_bytes(entry, facts.sha256)]
    wanted = {str(spec) for spec in plan.specs}
    kept = [entry for entry in recorded if entry["spec"] in wanted]
    missing = [spec for spec in plan.specs if str(spec) not in {entry["spec"] for entry in kept}]
    unused = {entry["name"] for entry in [*(previous.renditions if previous else ()), *facts.renditions]}
    reused = _names(kept)
    written: dict[str, dict] = {}
    try:
        if missing:
            with _render_slot():
                made = renditions_make(source=source.path, specs=missing)
            for spec in missing:
                rendition = rendition_for(spec, made)
                name = rendition_name(source_sha256=facts.sha256, spec=rendition.spec)
                if name not in written and name not in reused:
                    storage.put(name, rendition.data, content_type=rendition.content_type,
                                cache_control=RENDITION_CACHE_CONTROL)
                    written[name] = {"format": rendition.format, "width": rendition.width,
                                     "height": rendition.height, "name": name, "size": len(rendition.data)}
                kept.append({"spec": str(spec), **(written.get(name) or _entry_named(kept, name))})
    except (RenditionError, ImageStorageError) as exc:
        before = [entry for entry in kept if entry["name"] in reused]  # what was there still serves
        return RenditionsUpdate(replace(facts, renditions=before, renditions_spec=""), error=message_of(exc),
                                unused=frozenset(unused - reused))
    order = [str(spec) for spec in plan.specs]
    entries = sorted(kept, key=lambda entry: order.index(entry["spec"]))
    return RenditionsUpdate(
        replace(facts, renditions=entries, renditions_spec=plan.spec_key),
        created=len(written),
        skipped=len(reused),
        unused=frozenset(unused - _names(entries)),
    )


def renditions_missing_in_storage(facts: ImageFacts, storage: MediaStorage) -> bool:
    """Whether a recorded rendition is missing from storage or of another size (one request
    per rendition: --verify-storage only)."""
    return any(stored_size(storage, entry["name"]) != entry["size"] for entry in facts.renditions)


def renditions_delete_unused(*, names: set[str], storage: MediaStorage) -> list[str]:
    """Delete the renditions no StoredImage lists any more (its photo replaced or removed,
    or the spec changed), after the commit that stopped listing them. A name carries its
    source's hash, so only the rows with that hash can still list it."""
    if not names:
        return []
    in_use = set()
    hashes = {rendition_source_sha256(name) for name in names}
    for renditions in StoredImage.objects.filter(sha256__in=hashes).values_list("renditions", flat=True):
        in_use.update(entry["name"] for entry in renditions)
    deleted = []
    for name in sorted(names - in_use):
        try:
            storage.delete(name)
        except Exception as exc:  # the records already moved on: a left-over file misleads nothing
            logger.warning("rendition %s no photo uses was not deleted (%s: %s); delete it by hand",
                           name, type(exc).__name__, exc)
            continue
        deleted.append(name)
    return deleted


def _of_bytes(entry: dict, sha256: str) -> bool:
    return rendition_source_sha256(entry["name"]) == sha256


def _entry_named(entries: list[dict], name: str) -> dict:
    entry = next(entry for entry in entries if entry["name"] == name)
    return {key: value for key, value in entry.items() if key != "spec"}


def _names(entries: list[dict]) -> set[str]:
    return {entry["name"] for entry in entries}


def _render_slot() -> threading.BoundedSemaphore:
    """Photos decoded at once in this process: one per import worker (ONEC_IMPORT_MAX_WORKERS),
    however many upload threads call in, so memory stays bounded with 40-megapixel photos."""
    global _render_slots
    with _render_slots_lock:
        if _render_slots is None:
            _render_slots = threading.BoundedSemaphore(settings.ONEC_IMPORT_MAX_WORKERS)
        return _render_slots
