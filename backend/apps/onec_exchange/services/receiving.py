"""`mode=file`: a piece of a file 1C sends, streamed into the exchange's staging area
(`ONEC_EXCHANGE_STAGING_DIR/<exchange id>/`, laid out as the importers read it). The
request only writes the piece and its record; unpacking and laying out run in the
preparation flow (services.layout)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, message_of

from ..exceptions import ExchangeRefusedError
from ..models import Exchange1C, ExchangeFile
from . import staging
from .staging import StagingError

# A piece whose first bytes equal the staged file's first bytes is the file sent again.
RESEND_HEAD_BYTES = 64
_MIN_RESEND_HEAD_BYTES = 16


def exchange_staging_root(exchange_id: int) -> Path:
    """Where an exchange's files wait: read at call time, as every process must see one place."""
    return Path(settings.ONEC_EXCHANGE_STAGING_DIR) / str(exchange_id)


def exchange_file_receive(
    *, exchange: Exchange1C, name: str | None, size: int, chunks: Iterator[bytes]
) -> ExchangeFile | None:
    """Append a piece of a file (`size` bytes, as the request declares) to the exchange's
    staging area, streamed.

    A piece larger than ONEC_EXCHANGE_FILE_LIMIT (the limit `init` told 1C) is refused
    before a byte of it is read.

    The first piece of a name in an exchange starts the file afresh, as does a piece
    that begins with the staged file's first bytes (1C sending it again from its start).
    Orders (`type=sale`) are not this product's job: their files are read and dropped.
    """
    limit = settings.ONEC_EXCHANGE_FILE_LIMIT
    if size > limit:
        raise ExchangeRefusedError(Message(
            gettext_noop(
                "file %(name)s: a piece of %(size)s bytes is larger than ONEC_EXCHANGE_FILE_LIMIT=%(limit)s bytes, "
                "the limit mode=init announced: send pieces of at most that size, or raise the setting "
                "(and nginx's client_max_body_size with it)"
            ),
            name=repr(name), size=size, limit=limit,
        ))
    if exchange.exchange_type == Exchange1C.Type.SALE:
        for _ in chunks:
            pass
        return None
    try:
        path = staging.staging_layout_path(name or "")
        target = staging.staging_resolve(exchange_staging_root(exchange.pk), path)
    except StagingError as exc:
        raise ExchangeRefusedError(message_of(exc)) from None
    first = next(chunks, b"")
    record = ExchangeFile.objects.filter(exchange=exchange, path=str(path)).first()
    head = first[:RESEND_HEAD_BYTES]
    replace = (
        record is None or record.placed_at is not None
        or (len(head) >= _MIN_RESEND_HEAD_BYTES and staging.staging_starts_with(target, head))
    )
    size = staging.staging_write(target=target, chunks=_chain(first, chunks), replace=replace)
    fields = {"name": name[:1000], "size": size, "placed_at": None, "from_archive": False}
    if replace:
        fields.update(is_archive=False, unpacked_entries=0)
    record, _ = ExchangeFile.objects.update_or_create(exchange=exchange, path=str(path), defaults=fields)
    return record


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
