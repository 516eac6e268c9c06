"""Importing product photos from a 1C exchange into media storage.

One rule set, used by the seeds' `ProductDataProcessor.import_product_images`, by the
chunk service the Prefect flow calls, and so by the CLI and the admin alike.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from django.core.files.storage import Storage, storages
from django.db import connections, router, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from apps.i18n.messages import Message, error_message, message_of, message_text

from apps.media.error_details import error_detail
from apps.media.exceptions import ImageImportError, MediaStorageUnavailableError
from apps.media.models import StoredImage
from apps.products.models import Product
from apps.media.selectors import stored_image_facts, stored_image_links, stored_image_records
from apps.media.files import (
    MEDIA_PREFIX,
    ImageFacts,
    SourceImage,
    StoreOutcome,
    StoreResult,
    store_image,
)
from apps.media.renditions import (
    RenditionPlan,
    RenditionsUpdate,
    image_renditions_update,
    renditions_delete_unused,
    renditions_missing_in_storage,
)
from ..options import ImageImportOptions
from .image_sources import (
    product_image_paths,
    resolve_source_image,
    source_image_name,
    source_image_stat,
    source_root,
)
from apps.media.storage import media_storage, upload_pool

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageFileError:
    """One file that was not imported, or was imported without its renditions, and why (for
    reports and artifacts)."""

    product: str
    file: str
    reason: str  # in English: the logs', and what sessions stored before reasons were translated
    message: dict | None = None  # the reason as a stored Message, shown in the site's language

    @classmethod
    def of(cls, *, product: str, file: str, reason: Message | str) -> ImageFileError:
        return cls(product, file, str(reason), reason.as_json() if isinstance(reason, Message) else None)


@dataclass
class ProductImagesResult:
    """Counts are of files: `copied` new or changed files written (of them `replaced`
    overwrote older bytes), `skipped` files already up to date in media."""

    main_image: str
    gallery_images: list[str]
    copied: int = 0
    replaced: int = 0
    restored: int = 0
    skipped: int = 0
    gallery_added: int = 0
    main_image_set: bool = False
    removed: list[str] = field(default_factory=list)
    errors: list[ImageFileError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.main_image_set or bool(self.gallery_added or self.removed)


class ImageBatch:
    """The source images of one chunk: each resolved and stored once (products may share a
    photo), decided from the StoredImage rows loaded in one query, with the renditions the
    plan asks for; on a remote storage the writes run in the shared upload pool.
    `new_facts` are the rows to write; `unused_renditions` may go once they are written.
    `progressed` is called after each photo (the chunk's time limit counts from the last)."""

    def __init__(
        self,
        *,
        images_dir: Path,
        storage: Storage,
        decode: bool,
        dry_run: bool = False,
        verify: bool = False,
        records: dict[str, tuple[int, ImageFacts]] | None = None,
        upload_slots: Callable[[], AbstractContextManager] | None = None,
        renditions: RenditionPlan | None = None,
        progressed: Callable[[], None] | None = None,
    ):
        self.images_dir = images_dir
        self.storage = media_storage(storage)  # the media storage API over it
        self.decode = decode
        self.dry_run = dry_run
        self.verify = verify
        self.records = records or {}
        self.upload_slots = upload_slots or nullcontext
        self.renditions = renditions or RenditionPlan()
        self.progressed = progressed or (lambda: None)
        self.new_facts: dict[str, ImageFacts] = {}
        self.renditions_created = self.renditions_skipped = 0
        self.rendition_errors: dict[str, Message | str] = {}  # relative name -> why it has no renditions
        self.unused_renditions: set[str] = set()
        self._resolved: dict[str, SourceImage | ImageImportError | OSError] = {}
        self._real_folders: set[str] = set()
        self._stored: dict[str, StoreResult | ImageImportError | OSError] = {}

    def resolve(self, image_path: str) -> SourceImage:
        found = self._resolved.get(image_path)
        if found is None:
            try:
                found = resolve_source_image(image_path, self.images_dir, real_folders=self._real_folders)
            except (ImageImportError, OSError) as exc:
                found = exc
            self._resolved[image_path] = found
        if isinstance(found, BaseException):
            raise found
        return found

    def store(self, source: SourceImage) -> StoreOutcome:
        stored = self._stored.get(source.relative_name)
        if stored is None:
            stored = self._store_one(source)
        if isinstance(stored, BaseException):
            raise stored
        return stored.outcome

    def store_all(self, sources: Iterable[SourceImage]) -> None:
        """Store every source now; on a remote storage concurrently, over the bounded pool.
        A storage outage fails the whole batch (nothing recorded), after every upload ended."""
        remote: dict[str, SourceImage] = {}
        for source in sources:
            if source.relative_name in self._stored or source.relative_name in remote:
                continue
            if self.storage.remote and not self._unchanged_by_record(source):
                remote[source.relative_name] = source
            else:
                self._store_one(source)
        if not remote:
            return  # nothing to ask the storage: no slot taken either
        outage = None
        with self.upload_slots():
            pending = {name: upload_pool().submit(self._store, source) for name, source in remote.items()}
            for relative_name, future in pending.items():
                try:
                    self._keep(relative_name, future.result())
                except CancelledError:
                    continue  # not started after the outage below: the batch fails anyway
                except MediaStorageUnavailableError as exc:
                    if outage is None:
                        outage = exc
                        for waiting in pending.values():
                            waiting.cancel()  # would only wait out their own retries
                except (ImageImportError, OSError) as exc:
                    self._stored[relative_name] = exc
        if outage is not None:
            raise outage

    def _unchanged_by_record(self, source: SourceImage) -> bool:
        """store_image would find it unchanged without a storage request, and its renditions
        are all made: nothing to do in the upload pool."""
        facts = self._recorded(source)
        return bool(facts and not self.verify and facts.describes(source.stat) and not self.renditions.needed(facts))

    def _store(self, source: SourceImage) -> tuple[StoreResult, RenditionsUpdate | None]:
        """Store the photo, then make the renditions it still needs (in the same thread: on
        a remote storage one of the upload pool's)."""
        try:
            recorded = self._recorded(source)
            result = store_image(
                source, self.storage, recorded=recorded, decode=self.decode, dry_run=self.dry_run, verify=self.verify
            )
            facts = result.facts or recorded
            if self.dry_run or facts is None or not self.renditions.specs:
                return result, None
            plan = self.renditions
            if self.verify and not plan.needed(facts) and renditions_missing_in_storage(facts, self.storage):
                plan = replace(plan, rebuild=True)  # someone deleted renditions by hand: make them again
            if not plan.needed(facts):
                return result, None
            update = image_renditions_update(
                source=source, facts=facts, previous=recorded, plan=plan, storage=self.storage
            )
            return StoreResult(result.outcome, update.facts), update
        finally:
            self.progressed()  # a refused file is progress too: only a call that never returns is a stall

    def _recorded(self, source: SourceImage) -> ImageFacts | None:
        record = self.records.get(source.media_name)
        return record[1] if record else None

    def _store_one(self, source: SourceImage) -> StoreResult | ImageImportError | OSError:
        try:
            stored = self._store(source)
        except MediaStorageUnavailableError:
            raise  # the storage, not this file: the chunk fails and is retried
        except (ImageImportError, OSError) as exc:
            self._stored[source.relative_name] = exc
            return exc
        return self._keep(source.relative_name, stored)

    def _keep(self, relative_name: str, stored: tuple[StoreResult, RenditionsUpdate | None]) -> StoreResult:
        result, update = stored
        self._stored[relative_name] = result
        media_name = f"{MEDIA_PREFIX}/{relative_name}"
        if update is not None:
            self.renditions_created += update.created
            self.renditions_skipped += update.skipped
            self.unused_renditions |= update.unused
            if update.error:
                self.rendition_errors[relative_name] = update.error
        elif self.renditions.specs and not self.dry_run:
            facts = result.facts or self.records.get(media_name, (None, None))[1]
            self.renditions_skipped += len({entry["name"] for entry in facts.renditions}) if facts else 0
        if result.facts is not None:
            self.new_facts[media_name] = result.facts
        return result


def merge_product_images(
    *,
    onec_id: str,
    main_image: str,
    gallery_images: list[str],
    image_paths: list[str],
    images_dir: Path,
    validate_images: bool,
    storage: Storage,
    dry_run: bool = False,
    mirror: bool = False,
    batch: ImageBatch | None = None,
) -> ProductImagesResult:
    """Store each source image and fold it into the product's pictures.

    Default (the seeds): the first image becomes the main image unless one is set; the
    others join the gallery once, in order; nothing is removed. `mirror`: main image and
    gallery become exactly 1C's list, except that an image whose file could not be read
    this time stays (a partial exchange must not strip a product). `dry_run`: decide and
    count everything, write nothing. `batch`: the chunk's shared resolver and store.
    """
    batch = batch or ImageBatch(images_dir=images_dir, storage=storage, decode=validate_images, dry_run=dry_run)
    old_main = main_image or ""
    old_gallery = list(gallery_images or [])
    current = {old_main, *old_gallery} - {""}
    result = ProductImagesResult(main_image=old_main, gallery_images=list(old_gallery))
    listed: list[str] = []  # media names 1C lists now, in order, that the product may show
    seen: set[str] = set()
    for image_path in image_paths:
        source = None
        try:
            source = batch.resolve(image_path)
            if source.relative_name in seen:
                continue
            seen.add(source.relative_name)
            outcome = batch.store(source)
        except (ImageImportError, OSError) as exc:
            reason = message_of(exc) if isinstance(exc, ImageImportError) else Message(
                gettext_noop("%(path)s: %(error)s"), path=image_path, error=error_detail(exc)
            )
            result.errors.append(ImageFileError.of(product=onec_id, file=image_path, reason=reason))
            if source is not None and source.media_name in current:
                listed.append(source.media_name)  # keep what the product already shows
            continue
        if rendition_error := batch.rendition_errors.get(source.relative_name):
            result.errors.append(ImageFileError.of(product=onec_id, file=image_path, reason=rendition_error))
        if outcome is StoreOutcome.UNCHANGED:
            result.skipped += 1
        else:
            result.copied += 1
            result.replaced += outcome is StoreOutcome.REPLACED
            result.restored += outcome is StoreOutcome.RESTORED
        listed.append(source.media_name)

    new_main, new_gallery, result.removed = _pictures_merged(old_main, old_gallery, listed, mirror=mirror)
    result.main_image_set = new_main != old_main
    result.gallery_added = len(set(new_gallery) - set(old_gallery) - {old_main})
    result.main_image, result.gallery_images = new_main, new_gallery
    return result


def _pictures_merged(
    main_image: str, gallery_images: list[str], listed: list[str], *, mirror: bool
) -> tuple[str, list[str], list[str]]:
    """The product's (main image, gallery, removed names) once the media names `listed` (1C's
    list, in order, the ones the product may show) are merged in: mirror mode makes them
    the pictures, the default only adds them."""
    if mirror and listed:
        removed = [name for name in [main_image, *gallery_images] if name and name not in listed]
        return listed[0], listed[1:], removed
    new_main, new_gallery = main_image, list(gallery_images)
    for name in listed:
        if not new_main:
            new_main = name
        elif name != new_main and name not in new_gallery:
            new_gallery.append(name)
    return new_main, new_gallery, []


@dataclass
class ChunkImportResult:
    """What one chunk of products did. `processed` and `products_without_images` count
    products; `copied`, `replaced`, `restored` (of `copied`: recorded but missing or wrong
    in storage, --verify-storage), `skipped`, `errors` count files; `renditions_created`
    and `renditions_skipped` count rendition files, `rendition_errors` photos left without
    renditions (each also an error row)."""

    processed: int = 0
    copied: int = 0
    replaced: int = 0
    restored: int = 0
    skipped: int = 0
    products_without_images: int = 0
    gallery_added: int = 0
    main_images_set: int = 0
    removed: int = 0
    renditions_created: int = 0
    renditions_skipped: int = 0
    rendition_errors: int = 0
    error_details: list[ImageFileError] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return len(self.error_details)

    def counters(self) -> dict[str, int]:
        """The session report's counters (the image spec's); `restored` are also counted
        in `copied`."""
        data = asdict(self)
        del data["error_details"]
        return {**data, "errors": self.errors}

    def error_rows(self) -> list[dict]:
        return [asdict(error) for error in self.error_details]


@dataclass(frozen=True)
class _ProductPlan:
    product_id: int
    onec_id: str
    main_image: str
    gallery_images: list[str]
    image_paths: list[str]
    mirror: bool


def product_images_import_chunk(
    *,
    product_ids: list[int],
    images_dir: Path,
    options: ImageImportOptions = ImageImportOptions(),
    storage: Storage | None = None,
    upload_slots: Callable[[], AbstractContextManager] | None = None,
    progressed: Callable[[], None] | None = None,
) -> ChunkImportResult:
    """Import the photos of a batch of products: one product query, one StoredImage query,
    and when something changed one transaction writing image fields, rows and links.

    `options.verify_storage` also checks that every recorded object is in storage with its
    recorded size and writes again what is missing or wrong (by default the rows are
    trusted: an unchanged photo costs no storage request). Renditions (ONEC_IMAGE_RENDITIONS)
    are made for what lacks them; `options.rebuild_renditions` remakes them all.
    `upload_slots` is held while the chunk talks to a remote storage (the flow passes a
    Prefect concurrency limit); `progressed` is called after each photo stored."""
    storage = storage or storages["default"]  # the object itself: a lazy proxy costs per file
    chunk = ChunkImportResult()
    plans = []
    # Plain rows, not model instances: five columns are all a chunk needs, and building
    # instances would cost more than the query.
    rows = Product.objects.filter(pk__in=product_ids).values_list(
        "id", "onec_id", "main_image", "gallery_images", "onec_picture_paths"
    )
    for product_id, onec_id, main_image, gallery_images, picture_paths in rows:
        chunk.processed += 1
        paths = product_image_paths(onec_id=onec_id, picture_paths=picture_paths, images_dir=images_dir)
        if not paths:
            chunk.products_without_images += 1
            continue
        # Only an explicit <Картинка> list says what 1C no longer has; a folder scan can't.
        plans.append(_ProductPlan(product_id, onec_id, main_image or "", gallery_images or [], paths,
                                  options.mirror and bool(picture_paths)))
    if (unchanged := _unchanged_chunk(plans, images_dir=images_dir, options=options)) is not None:
        chunk.skipped, chunk.renditions_skipped = unchanged
        logger.info("image chunk: %d products, all %d files up to date", chunk.processed, chunk.skipped)
        return chunk
    results, batch = _products_images_import(
        plans, images_dir=images_dir, storage=storage, options=options, upload_slots=upload_slots,
        progressed=progressed,
    )
    chunk.renditions_created = batch.renditions_created
    chunk.renditions_skipped = batch.renditions_skipped
    chunk.rendition_errors = len(batch.rendition_errors)
    for result in results.values():
        chunk.copied += result.copied
        chunk.replaced += result.replaced
        chunk.restored += result.restored
        chunk.skipped += result.skipped
        chunk.gallery_added += result.gallery_added
        chunk.main_images_set += result.main_image_set
        chunk.removed += len(result.removed)
        chunk.error_details.extend(result.errors)
    logger.info(
        "image chunk: %d products, %d copied (%d restored), %d up to date, %d errors; renditions: %d made, %d kept",
        chunk.processed, chunk.copied, chunk.restored, chunk.skipped, chunk.errors,
        chunk.renditions_created, chunk.renditions_skipped,
    )
    return chunk


def _unchanged_chunk(
    plans: list[_ProductPlan], *, images_dir: Path, options: ImageImportOptions
) -> tuple[int, int] | None:
    """(files up to date, renditions kept) when the chunk has nothing to write, decided from
    one lstat per photo (plus one per folder) and one query of their StoredImage rows:
    every product already shows what the merge would make it show, every listed photo is
    there, its row describes it (source_unchanged) and holds the renditions the plan asks
    for; checked in that order, so a cold chunk costs no look-up. None when anything
    differs, and always with --verify-storage, --dry-run or --rebuild-renditions: then
    the chunk takes the full path. This keeps a nothing-changed night at a few
    microseconds per photo, with no ImageBatch, SourceImage or ImageFacts per photo
    (bench/RESULTS.md, issue #23)."""
    if options.verify_storage or options.dry_run or options.rebuild_renditions:
        return None
    listed_by_plan = []
    for plan in plans:
        listed = []
        for image_path in plan.image_paths:
            try:
                name = f"{MEDIA_PREFIX}/{source_image_name(image_path)}"
            except ImageImportError:
                return None
            if name not in listed:
                listed.append(name)
        listed_by_plan.append(listed)
        main_image, gallery_images, _ = _pictures_merged(plan.main_image, plan.gallery_images, listed, mirror=plan.mirror)
        if (main_image, gallery_images) != (plan.main_image, plan.gallery_images):
            return None  # e.g. every product of a cold chunk: decided before any file or row is read
    names = list(dict.fromkeys(name for listed in listed_by_plan for name in listed))
    renditions = RenditionPlan.configured()
    records = stored_image_records(names=names, renditions=bool(renditions.specs))
    if len(records) < len(names):
        return None
    root = source_root(images_dir)
    real_folders: set[str] = set()
    prefix = len(MEDIA_PREFIX) + 1
    renditions_kept = 0
    for name in names:
        record = records[name]
        try:
            file_stat = source_image_stat(name[prefix:], root, real_folders=real_folders)
        except (ImageImportError, OSError):
            return None
        if not record.describes(file_stat) or renditions.needed(record):
            return None
        if renditions.specs:
            renditions_kept += len({entry["name"] for entry in record.renditions})
    return sum(len(listed) for listed in listed_by_plan), renditions_kept


def _products_images_import(
    plans: list[_ProductPlan],
    *,
    images_dir: Path,
    storage: Storage,
    options: ImageImportOptions,
    upload_slots: Callable[[], AbstractContextManager] | None = None,
    progressed: Callable[[], None] | None = None,
) -> tuple[dict[int, ProductImagesResult], ImageBatch]:
    """Store the plans' images (decided from their StoredImage rows) with their renditions,
    merge them into each product's pictures (each plan says whether it mirrors 1C's list)
    and, unless a dry run, commit image fields, rows and links at once; the batch tells
    what it stored."""
    dry_run = options.dry_run
    batch = ImageBatch(images_dir=images_dir, storage=storage, decode=options.validate_images, dry_run=dry_run,
                       verify=options.verify_storage, upload_slots=upload_slots,
                       renditions=RenditionPlan.configured(rebuild=options.rebuild_renditions), progressed=progressed)
    sources = []
    names = set()
    for plan in plans:
        names.update(name for name in (plan.main_image, *plan.gallery_images) if name)
        for image_path in plan.image_paths:
            try:
                source = batch.resolve(image_path)
            except (ImageImportError, OSError):
                continue  # reported per product by the merge
            sources.append(source)
            names.add(source.media_name)
    batch.records = stored_image_facts(names=names)
    batch.store_all(sources)
    results = {}
    for plan in plans:
        results[plan.product_id] = merge_product_images(
            onec_id=plan.onec_id, main_image=plan.main_image, gallery_images=plan.gallery_images,
            image_paths=plan.image_paths, images_dir=images_dir, validate_images=options.validate_images,
            storage=storage, dry_run=dry_run, mirror=plan.mirror, batch=batch,
        )
    if not dry_run:
        _images_commit(results, batch, storage)
    return results, batch


def _images_commit(results: dict[int, ProductImagesResult], batch: ImageBatch, storage: Storage) -> None:
    """One transaction: new StoredImage facts, the changed products' image fields, and the
    links of every product whose pictures or rows changed; mirror deletions after commit."""
    changed = [(pk, r.main_image, r.gallery_images) for pk, r in results.items() if r.changed]
    if not changed and not batch.new_facts:
        return  # nothing changed: no write at all
    new_rows = set(batch.new_facts) - set(batch.records)
    removed = {name for r in results.values() for name in r.removed}
    with transaction.atomic():
        ids = {name: record_id for name, (record_id, _) in batch.records.items()}
        ids.update(_stored_images_save(batch.new_facts))
        if changed:
            _product_images_save(changed)
        shown = {pk: {name for name in (r.main_image, *r.gallery_images) if name in ids} for pk, r in results.items()}
        relink = {pk: {ids[name] for name in names} for pk, names in shown.items()
                  if results[pk].changed or names & new_rows}
        if relink:
            _stored_image_links_save(relink)
        if removed:
            transaction.on_commit(lambda: delete_unused_media(names=removed, storage=storage))
        if batch.unused_renditions:
            transaction.on_commit(lambda: renditions_delete_unused(names=batch.unused_renditions, storage=batch.storage))


_FACT_FIELDS = tuple(ImageFacts.__dataclass_fields__)


def _stored_images_save(facts: dict[str, ImageFacts]) -> dict[str, int]:
    """Insert or update StoredImage rows by name; return their ids. One statement, `INSERT
    ... SELECT` from the rows sent as one JSON parameter `ON CONFLICT (name) DO UPDATE ...
    RETURNING` the ids (PostgreSQL and SQLite): `bulk_create(update_conflicts=True)`'s model
    instances were a quarter of a cold local import's CPU, and an `executemany` still had
    psycopg quote every value in Python, then a second query for the ids (bench/RESULTS.md,
    issue #23)."""
    if not facts:
        return {}
    meta = StoredImage._meta
    connection = connections[router.db_for_write(StoredImage)]
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in ("name", *_FACT_FIELDS)]
    columns = [quote(field.column) for field in fields]
    updated_at = meta.get_field("updated_at")
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}, {quote(updated_at.column)}) "
        f"{_json_rows_select(fields, connection, extra='%s')} "
        f"ON CONFLICT ({columns[0]}) DO UPDATE SET "
        f"{', '.join(f'{column} = EXCLUDED.{column}' for column in [*columns[1:], quote(updated_at.column)])} "
        f"RETURNING {columns[0]}, {quote(meta.pk.column)}"
    )
    rows = json.dumps([[name, *(getattr(item, field) for field in _FACT_FIELDS)] for name, item in facts.items()])
    with connection.cursor() as cursor:
        cursor.execute(sql, [updated_at.get_db_prep_save(timezone.now(), connection), rows])
        return dict(cursor.fetchall())


def _json_rows_select(fields: list, connection, *, extra: str | None = None) -> str:
    """`SELECT <one column per field, c0, c1, ...>[, <extra>] FROM` the rows of one JSON
    parameter (an array of arrays, in `fields`' order), each value typed as its field's
    column; `WHERE true` lets SQLite read a following ON CONFLICT as the upsert's."""
    if connection.vendor == "postgresql":
        values = [f"(r->{i})" if field.get_internal_type() == "JSONField" else f"(r->>{i})::{field.db_type(connection)}"
                  for i, field in enumerate(fields)]
        source = "jsonb_array_elements(%s::jsonb) r"
    else:
        values = [f"r.value->{i}" if field.get_internal_type() == "JSONField" else f"r.value->>{i}"
                  for i, field in enumerate(fields)]
        source = "json_each(%s) r"
    columns = [f"{value} AS c{i}" for i, value in enumerate(values)]
    return f"SELECT {', '.join([*columns, *([extra] if extra else [])])} FROM {source} WHERE true"


def _stored_image_links_save(desired: dict[int, set[int]]) -> None:
    """Make each product's StoredImage links exactly `desired[product_id]`."""
    link = StoredImage.products.through
    current = stored_image_links(product_ids=list(desired))
    stale = [link_id for product_id, links in current.items() for record_id, link_id in links.items()
             if record_id not in desired[product_id]]
    if stale:
        link.objects.filter(pk__in=stale).delete()
    new = [[product_id, record_id] for product_id, record_ids in desired.items()
           for record_id in record_ids if record_id not in current.get(product_id, {})]
    if not new:
        return
    # One INSERT of rows sent as JSON, not bulk_create's model instance per link.
    connection = connections[router.db_for_write(link)]
    quote = connection.ops.quote_name
    fields = [link._meta.get_field("product"), link._meta.get_field("storedimage")]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(link._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
            f"{_json_rows_select(fields, connection)} ON CONFLICT DO NOTHING",
            [json.dumps(new)],
        )


def _product_images_save(changed: list[tuple[int, str, list[str]]]) -> None:
    """Write only the two image columns of (id, main_image, gallery_images) rows, so
    concurrent edits of names, prices, ... are not overwritten. One `UPDATE ... FROM` the
    rows sent as JSON rather than `bulk_update`, whose CASE expression per product is the
    slow part of a cold run, or an `executemany` quoting every value (bench/RESULTS.md)."""
    meta = Product._meta
    fields = [meta.pk, meta.get_field("main_image"), meta.get_field("gallery_images")]
    connection = connections[router.db_for_write(Product)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    sql = (
        f"UPDATE {table} SET {quote(fields[1].column)} = changed.c1, {quote(fields[2].column)} = changed.c2 "
        f"FROM ({_json_rows_select(fields, connection)}) AS changed WHERE {table}.{quote(fields[0].column)} = changed.c0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(changed)])


def delete_unused_media(*, names: set[str], storage: Storage) -> list[str]:
    """Delete media objects no product shows any more (mirror mode), with their renditions,
    after the commit that stopped showing them, by their StoredImage rows: an object still
    linked to a product stays, and so does a name the rows do not know (not the import's
    to delete)."""
    media = media_storage(storage)
    deleted = []
    renditions = set()
    rows = StoredImage.objects.filter(name__in=names).annotate(shown_by=Count("products"))
    for record_id, name, shown_by, made in sorted(
        rows.values_list("id", "name", "shown_by", "renditions"), key=lambda row: row[1]
    ):
        if shown_by:
            continue
        # The row first: a chunk that links it meanwhile fails on the missing row and is
        # retried (uploading again), instead of a product showing a deleted object.
        removed_rows, _ = StoredImage.objects.filter(pk=record_id, products=None).delete()
        if not removed_rows:
            continue
        renditions.update(entry["name"] for entry in made)
        try:
            media.delete(name)
        except Exception as exc:  # the products already changed: a left-over object hides nothing
            logger.warning("%s", gettext("the media file %(name)s no product shows was not deleted (%(error)s); "
                                          "delete it by hand") % {"name": name, "error": message_text(error_message(exc))})
            continue
        deleted.append(name)
    renditions_delete_unused(names=renditions, storage=media)
    return deleted


class ProductDataProcessor:
    """The seeds' entry point, kept with its signature and return shape."""

    def __init__(self, storage: Storage | None = None):
        self.storage = storage or storages["default"]  # the object, not the lazy proxy

    def import_product_images(
        self,
        product: Product,
        image_paths: list[str],
        base_dir: str | Path,
        validate_images: bool = False,
        mirror: bool = False,
    ) -> dict[str, int]:
        """Copy `image_paths` (relative to `base_dir` = goods/import_files) into media and
        set main_image / gallery_images; returns file counts copied, skipped, errors."""
        plan = _ProductPlan(product.pk, product.onec_id, product.main_image.name or "",
                            list(product.gallery_images or []), list(image_paths), mirror)
        results, _ = _products_images_import(
            [plan], images_dir=Path(base_dir), storage=self.storage,
            options=ImageImportOptions(validate_images=validate_images),
        )
        result = results[product.pk]
        for error in result.errors:
            logger.warning("product %s: %s", error.product, error.reason)
        if result.changed:  # already saved, with only the image fields; the instance follows
            product.main_image.name = result.main_image
            product.gallery_images = result.gallery_images
        return {"copied": result.copied, "skipped": result.skipped, "errors": len(result.errors)}
