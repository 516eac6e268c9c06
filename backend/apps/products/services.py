"""The site's own photos of a product (SitePhoto): added by hand, checked and given their
renditions by a Prefect run (flows/site_photos.py), reordered and removed by an admin. No
import reads or writes them; their media names are below SITE_PHOTO_PREFIX, where 1C's
photos (`products/`) never are."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import uuid
from dataclasses import replace

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, message_of
from apps.media.exceptions import InvalidImageError
from apps.media.files import WEB_IMAGE_HEAD_BYTES, SourceImage, decode_image, web_image_content_type
from apps.media.models import StoredImage
from apps.media.renditions import RenditionPlan, image_renditions_update, renditions_delete_unused
from apps.media.selectors import stored_image_facts
from apps.media.storage import media_storage

from .exceptions import SitePhotoRefusedError
from .models import Product, SitePhoto

logger = logging.getLogger(__name__)

SITE_PHOTO_PREFIX = "site-photos"
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def site_photo_content_type(*, head: bytes, filename: str) -> str:
    """The photo's content type from its first bytes; SitePhotoRefusedError saying why not."""
    if not head:
        raise SitePhotoRefusedError(Message(
            gettext_noop("%(file)s: the file is empty (0 bytes); choose the photo again"), file=filename,
        ))
    content_type = web_image_content_type(head[:WEB_IMAGE_HEAD_BYTES])
    if content_type is None:
        raise SitePhotoRefusedError(Message(
            gettext_noop("%(file)s: not a JPEG, PNG or WebP image (its content says otherwise); upload a photo in one "
                         "of these formats"), file=filename,
        ))
    return content_type


def site_photo_add(*, product_id: int, data: bytes, filename: str) -> SitePhoto:
    """Store an uploaded photo through the media storage and record it, last among the
    product's own photos, as processing (site_photo_process makes it ready or refuses it).
    Refuses what is not JPEG, PNG or WebP by its first bytes."""
    content_type = site_photo_content_type(head=data[:WEB_IMAGE_HEAD_BYTES], filename=filename)
    name = f"{SITE_PHOTO_PREFIX}/{product_id}/{uuid.uuid4().hex}.{_EXTENSIONS[content_type]}"
    media = media_storage()
    etag = media.put(name, data, content_type=content_type)
    try:
        with transaction.atomic():
            Product.objects.select_for_update().filter(pk=product_id).get()  # one upload numbers at a time
            last = SitePhoto.objects.filter(product_id=product_id).aggregate(last=Max("position"))["last"]
            image = StoredImage.objects.create(
                name=name, source_name=filename[:500], source_size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                stored_size=len(data), etag=etag, content_type=content_type,
            )
            return SitePhoto.objects.create(
                product_id=product_id, image=image, position=0 if last is None else last + 1,
            )
    except BaseException:
        media.delete(name)  # nothing records it: it must not stay behind
        raise


def site_photo_process(*, photo_id: int) -> SitePhoto:
    """Decode a processing photo (every pixel, within ONEC_IMAGE_MAX_PIXELS), record its
    size and make its renditions (ONEC_IMAGE_RENDITIONS), then mark it ready; a photo that
    cannot be shown is refused with the reason. A photo no longer processing is left as it
    is (a retried run). A media storage outage raises (the run retries)."""
    photo = SitePhoto.objects.select_related("image").get(pk=photo_id)
    if photo.status != SitePhoto.Status.PROCESSING:
        return photo
    record = photo.image
    label = record.source_name or record.name
    media = media_storage()
    try:
        with media.open(record.name) as stored:
            data = stored.read()
    except FileNotFoundError:
        return _site_photo_refuse(photo, Message(
            gettext_noop("%(file)s: the uploaded file is no longer in the media storage; upload it again"), file=label,
        ))
    try:
        site_photo_content_type(head=data[:WEB_IMAGE_HEAD_BYTES], filename=label)
        width, height = decode_image(io.BytesIO(data), label)
    except (SitePhotoRefusedError, InvalidImageError) as exc:
        return _site_photo_refuse(photo, message_of(exc))
    _, facts = stored_image_facts(names=[record.name])[record.name]
    facts = replace(facts, width=width, height=height)
    plan = RenditionPlan.configured()
    if plan.specs:
        with tempfile.TemporaryDirectory(prefix="site-photo-") as folder:
            path = os.path.join(folder, os.path.basename(record.name))
            with open(path, "wb") as copy:
                copy.write(data)
            update = image_renditions_update(
                source=SourceImage(record.name, path, os.stat(path)), facts=facts, previous=None, plan=plan,
                storage=media,
            )
        if update.error:
            return _site_photo_refuse(photo, _named(update.error, path=path, label=label))
        facts = update.facts
    with transaction.atomic():
        StoredImage.objects.filter(pk=record.pk).update(
            width=facts.width, height=facts.height, renditions=facts.renditions, renditions_spec=facts.renditions_spec,
        )
        SitePhoto.objects.filter(pk=photo.pk).update(
            status=SitePhoto.Status.READY, refusal_reason="", refusal_reason_translatable={},
        )
    logger.info("site photo %s of product %s ready: %dx%d, %d renditions", photo.pk, photo.product_id, width, height,
                len(facts.renditions))
    photo.refresh_from_db()
    return photo


def _named(message: Message | str, *, path: str, label: str) -> Message | str:
    """A message about the photo's temporary copy, naming the photo as the admin knows it."""
    if isinstance(message, Message):
        return Message(message.text, **{name: _named(value, path=path, label=label)
                                        for name, value in message.params.items()})
    return message.replace(path, label) if isinstance(message, str) else message


def _site_photo_refuse(photo: SitePhoto, reason: Message | str) -> SitePhoto:
    site_photo_refuse(photo_id=photo.pk, reason=reason)
    photo.refresh_from_db()
    return photo


def site_photo_refuse(*, photo_id: int, reason: Message | str) -> bool:
    """Refuse a photo still processing, saying why (the storefront never shows it; the
    admin sees the reason and may remove it). A Message is stored as one: it reads in the
    site's language of the moment. False: it was no longer processing."""
    refused = SitePhoto.objects.filter(pk=photo_id, status=SitePhoto.Status.PROCESSING).update(
        status=SitePhoto.Status.REFUSED, refusal_reason=str(reason),
        refusal_reason_translatable=reason.as_json() if isinstance(reason, Message) else {},
    )
    if refused:
        logger.info("site photo %s refused: %s", photo_id, reason)
    return bool(refused)


def site_photo_move(*, photo_id: int, step: int) -> None:
    """Move a photo `step` places among its product's own photos (-1: one earlier); at
    either end it stays. The others keep their order; positions become 0, 1, 2, ..."""
    with transaction.atomic():
        product_id = SitePhoto.objects.values_list("product_id", flat=True).get(pk=photo_id)
        Product.objects.select_for_update().filter(pk=product_id).get()
        photos = list(SitePhoto.objects.filter(product_id=product_id).order_by("position", "id"))
        index = next(i for i, photo in enumerate(photos) if photo.pk == photo_id)
        photos.insert(min(max(index + step, 0), len(photos) - 1), photos.pop(index))
        for position, photo in enumerate(photos):
            photo.position = position
        SitePhoto.objects.bulk_update(photos, ["position"])


def site_photo_delete(*, photo_id: int) -> None:
    """Remove a photo the site added, its StoredImage row and, after the commit, its object
    and the renditions no other photo uses."""
    media = media_storage()
    with transaction.atomic():
        photo = SitePhoto.objects.select_related("image").get(pk=photo_id)
        record = photo.image
        photo.delete()
        record.delete()
        renditions = {entry["name"] for entry in record.renditions}
        transaction.on_commit(lambda: _media_delete(media, record.name, renditions))


def _media_delete(media, name: str, renditions: set[str]) -> None:
    try:
        media.delete(name)
    except Exception as exc:  # the rows are gone: a left-over object shows nowhere
        logger.warning("media object %s of a removed site photo was not deleted (%s: %s); delete it by hand",
                       name, type(exc).__name__, exc)
    renditions_delete_unused(names=renditions, storage=media)
