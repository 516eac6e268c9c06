"""The media storage API on S3: one obstore `S3Store` (Rust's object_store: the GIL released
while a request runs, a fraction of boto3's CPU per request, bench/RESULTS.md issue #23
item 1) per configured bucket and process, shared by the upload threads, built from the
django-storages S3Storage's own settings (config/media_storage.py): the same bucket,
credentials, endpoint, region, addressing style, retries, timeouts and pool size. Django,
the admin and the templates keep using the S3Storage itself (URLs, signed URLs, reads).

Only the S3Storage's documented settings and `get_object_parameters()` are read, and
django-storages' public helpers make the object keys: nothing private of it."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import BinaryIO, Iterator

import obstore
from django.core.exceptions import SuspiciousOperation
from django.utils.translation import gettext_noop
from obstore.exceptions import BaseError
from obstore.store import S3Store
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, safe_join

from apps.i18n.messages import Message

from ..exceptions import MediaStorageError, MediaStorageUnavailableError
from .base import INCOMING_DIRNAME, MediaStorage, StoredObject

# What the client raises when S3 is unreachable, refuses or throttles past its own retries;
# a missing object or bucket is a FileNotFoundError.
_FAULTS = (BaseError, OSError)
# django-storages' object parameters (AWS_S3_OBJECT_PARAMETERS) as object attributes.
_ATTRIBUTES = {
    "CacheControl": "Cache-Control",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "ContentType": "Content-Type",
}
_READ_CHUNK = 1 << 20


class S3MediaStorage(MediaStorage):
    storage: S3Storage

    def __init__(self, storage: S3Storage):
        super().__init__(storage)
        self.bucket = storage.bucket_name
        self.store = _store(storage)

    @property
    def label(self) -> Message:
        return Message(gettext_noop("S3 bucket %(bucket)s at %(endpoint)s"), bucket=repr(self.bucket),
                       endpoint=self.storage.endpoint_url or "AWS S3")

    @property
    def upload_limit_name(self) -> str:
        """`s3-uploads-<bucket>`: each slot is one chunk uploading with up to
        ONEC_IMAGE_UPLOAD_WORKERS requests. Without the limit created (`prefect gcl
        create`), uploads are not capped."""
        return f"s3-uploads-{self.bucket}"

    def put(self, name: str, data: bytes, *, content_type: str, cache_control: str | None = None,
            mtime_ns: int | None = None) -> str:
        """One PutObject (never multipart: the ETag stays the bytes' MD5) of `data` itself,
        not a copy, with django-storages' object parameters (AWS_S3_OBJECT_PARAMETERS:
        Cache-Control) and the content type unless those set one."""
        parameters = self.storage.get_object_parameters(name)
        parameters.setdefault("ContentType", content_type)
        if cache_control:
            parameters["CacheControl"] = cache_control
        attributes = {_ATTRIBUTES[key]: value for key, value in parameters.items()}
        try:
            result = obstore.put(self.store, self._key(name), data, use_multipart=False, attributes=attributes)
        except _FAULTS as exc:
            raise self._unavailable(gettext_noop("%(storage)s: cannot write %(name)s (%(error)s)"), name, exc) from exc
        return (result["e_tag"] or "").strip('"')

    def open(self, name: str) -> BinaryIO:
        """One GetObject, read as it arrives."""
        try:
            stream = obstore.get(self.store, self._key(name)).stream(min_chunk_size=_READ_CHUNK)
        except _FAULTS as exc:
            raise self._unavailable(gettext_noop("%(storage)s: cannot read %(name)s (%(error)s)"), name, exc) from exc
        return io.BufferedReader(_StreamReader(stream, lambda exc: self._unavailable(
            gettext_noop("%(storage)s: cannot read %(name)s (%(error)s)"), name, exc)), _READ_CHUNK)

    def delete(self, name: str) -> None:
        """One DeleteObject (S3 answers a missing object with success)."""
        try:
            obstore.delete(self.store, self._key(name))
        except _FAULTS as exc:
            raise self._unavailable(gettext_noop("%(storage)s: cannot delete %(name)s (%(error)s)"), name, exc) from exc

    def stat(self, name: str) -> StoredObject | None:
        """One HeadObject."""
        try:
            head = obstore.head(self.store, self._key(name))
        except FileNotFoundError as exc:
            if "NoSuchBucket" not in str(exc):
                return None
            raise self._unavailable(gettext_noop("%(storage)s: cannot look up %(name)s (%(error)s)"), name, exc) from exc
        except _FAULTS as exc:
            raise self._unavailable(gettext_noop("%(storage)s: cannot look up %(name)s (%(error)s)"), name, exc) from exc
        return StoredObject(head["size"], (head["e_tag"] or "").strip('"'))

    def answers(self, *, seconds: float) -> None:
        """One ListObjects of at most one key, through a client that gives up after `seconds`
        and does not retry (a HeadObject could not tell a missing bucket from a missing key)."""
        store = _store(self.storage, timeout=seconds)
        try:
            next(iter(obstore.list(store, prefix=self._key(f"{INCOMING_DIRNAME}/health-check"), chunk_size=1)), None)
        except _FAULTS as exc:
            if "NoSuchBucket" in str(exc):
                raise MediaStorageUnavailableError(Message(
                    gettext_noop("%(storage)s: the bucket does not exist"), storage=self.label
                )) from exc
            raise MediaStorageUnavailableError(Message(
                gettext_noop("%(storage)s does not answer (%(error)s)"), storage=self.label, error=_summary(exc)
            )) from exc

    def _unavailable(self, text: str, name: str, exc: BaseException) -> MediaStorageUnavailableError:
        """A request about `name` failed past the client's retries: `text` says which."""
        return MediaStorageUnavailableError(Message(text, storage=self.label, name=name, error=_summary(exc)))

    def _key(self, name: str) -> str:
        """The object key of `name` (under AWS_LOCATION), as django-storages makes it."""
        try:
            return safe_join(self.storage.location, clean_name(name))
        except ValueError:
            raise SuspiciousOperation(f"{name!r} leaves AWS_LOCATION {self.storage.location!r}") from None

    def _problem(self, exc: BaseException) -> Message:
        message = str(exc)
        code = re.search(r"<Code>([^<]+)</Code>", message)
        code = code.group(1) if code else ""
        status = re.search(r"status code: (\d{3})", message)
        status = status.group(1) if status else ""
        if code == "NoSuchBucket":
            return Message(gettext_noop(
                "the bucket does not exist: create it, or set AWS_STORAGE_BUCKET_NAME to an existing bucket"
            ))
        if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"} or status in {"401", "403"}:
            return Message(gettext_noop(
                "the credentials were refused (%(code)s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "and that they may write to the bucket"
            ), code=code or status)
        if status:
            return Message(gettext_noop("the storage refused a probe object (%(code)s: %(error)s)"),
                           code=code or status, error=_summary(exc))
        if isinstance(exc, BaseError) and "kind: Connect" in message:
            return Message(gettext_noop(
                "cannot connect (%(error)s): check AWS_S3_ENDPOINT_URL and that the server is running"
            ), error=_summary(exc))
        if isinstance(exc, BaseError):
            return Message(gettext_noop("a probe object could not be written, read and deleted (%(error)s)"),
                           error=_summary(exc))
        return super()._problem(exc)


class _StreamReader(io.RawIOBase):
    """A GetObject's body as a raw binary file: each read takes the next chunk off the
    stream, one copy into the caller's buffer."""

    def __init__(self, stream: Iterator, unavailable):
        self._stream, self._unavailable = stream, unavailable  # the error a failed read raises
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self._pending:
            try:
                self._pending = memoryview(next(self._stream, b""))
            except _FAULTS as exc:
                raise self._unavailable(exc) from exc
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


def _summary(exc: BaseException) -> str:
    """obstore's message without its debug dump: the request, the status and the server's
    answer."""
    return str(exc).split("\n\nDebug source:", 1)[0].strip()


def _store(storage: S3Storage, *, timeout: float | None = None) -> S3Store:
    """An S3Store as django-storages' own connection is made (S3Storage.connection): the
    same credentials (or boto3's chain: a profile, the environment, an instance role),
    endpoint, region, TLS and botocore config (addressing style, retries, timeouts, pool
    size), read from the S3Storage's public settings. `timeout`: instead, every request
    ends within that many seconds, unretried (health checks)."""
    config = storage.client_config
    unsupported = set(storage.get_object_parameters("")) - set(_ATTRIBUTES)
    if storage.default_acl:
        unsupported.add("ACL (AWS_DEFAULT_ACL)")
    if unsupported:
        raise MediaStorageError(Message(
            gettext_noop(
                "S3 bucket %(bucket)s: the image import cannot set %(unsupported)s on S3 objects: leave it unset "
                "(AWS_S3_OBJECT_PARAMETERS may hold %(supported)s); use a bucket policy for public reads"
            ),
            bucket=repr(storage.bucket_name), unsupported=", ".join(sorted(unsupported)), supported=", ".join(_ATTRIBUTES),
        ))
    credentials: dict = {}
    if storage.access_key and storage.secret_key and not storage.session_profile:
        credentials = {"access_key_id": storage.access_key, "secret_access_key": storage.secret_key}
        if storage.security_token:
            credentials["token"] = storage.security_token
    else:
        import boto3
        from obstore.auth.boto3 import Boto3CredentialProvider

        credentials = {"credential_provider": Boto3CredentialProvider(boto3.Session(profile_name=storage.session_profile))}
    endpoint = storage.endpoint_url
    attempts = (config.retries or {}).get("max_attempts", 5) if timeout is None else 1
    connect_timeout, read_timeout = (
        (f"{config.connect_timeout}s", f"{config.read_timeout}s") if timeout is None
        else (f"{int(timeout * 500)}ms", f"{int(timeout * 1000)}ms")  # the whole request, connecting included
    )
    return S3Store(
        storage.bucket_name,
        endpoint=endpoint,
        region=storage.region_name or "us-east-1",
        virtual_hosted_style_request=(config.s3 or {}).get("addressing_style") == "virtual",
        client_options={
            "allow_http": bool(endpoint and endpoint.startswith("http://")) or not storage.use_ssl,
            "allow_invalid_certificates": storage.verify is False,
            "connect_timeout": connect_timeout,
            "timeout": read_timeout,
            "pool_max_idle_per_host": str(config.max_pool_connections),
        },
        # Throttling (5xx: 503 SlowDown) and dropped connections, with exponential backoff.
        retry_config={
            "max_retries": max(attempts - 1, 0),
            "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=15), "base": 2},
            "retry_timeout": timedelta(minutes=3),
        },
        **credentials,
    )
