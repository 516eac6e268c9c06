"""The media storage API on S3: one boto3 client per configured bucket and process, shared by
the upload threads (botocore clients are thread-safe), built from the django-storages
S3Storage's own settings (config/media_storage.py), so both talk to the same bucket the same
way. django-storages' own connection is one boto3 session per thread, each loading its own
service models (CPU and ~20 MB per thread, bench/RESULTS.md).

Only the S3Storage's documented settings and `get_object_parameters()` are read, and
django-storages' public helpers make the object keys: nothing private of it. One class, so
another S3 client can take its place."""
from __future__ import annotations

import contextlib
from typing import BinaryIO, Iterator

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from django.core.exceptions import SuspiciousOperation
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, safe_join

from ..exceptions import MediaStorageUnavailableError
from .base import MediaStorage, StoredObject

# What the client raises when S3 is unreachable, refuses or throttles past its own retries.
_FAULTS = (BotoCoreError, ClientError)


class S3MediaStorage(MediaStorage):
    storage: S3Storage

    def __init__(self, storage: S3Storage):
        super().__init__(storage)
        self.bucket = storage.bucket_name
        self.client = _client(storage)

    @property
    def label(self) -> str:
        return f"S3 bucket {self.bucket!r} at {self.storage.endpoint_url or 'AWS S3'}"

    @property
    def upload_limit_name(self) -> str:
        """`s3-uploads-<bucket>`: each slot is one chunk uploading with up to
        ONEC_IMAGE_UPLOAD_WORKERS requests. Without the limit created (`prefect gcl
        create`), uploads are not capped."""
        return f"s3-uploads-{self.bucket}"

    def put(self, name: str, data: bytes, *, content_type: str, cache_control: str | None = None,
            mtime_ns: int | None = None) -> str:
        """One PutObject with the parameters django-storages would send: its object
        parameters (AWS_S3_OBJECT_PARAMETERS: Cache-Control), the content type unless those
        set one, the default ACL."""
        parameters = self.storage.get_object_parameters(name)
        parameters.setdefault("ContentType", content_type)
        if self.storage.default_acl:
            parameters.setdefault("ACL", self.storage.default_acl)
        if cache_control:
            parameters["CacheControl"] = cache_control
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, **parameters)
        except _FAULTS as exc:
            raise MediaStorageUnavailableError(f"{self.label}: cannot write {name} ({exc})") from exc
        return response.get("ETag", "").strip('"')

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """One GetObject."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
            with contextlib.closing(response["Body"]) as body:
                yield body
        except _FAULTS as exc:
            raise MediaStorageUnavailableError(f"{self.label}: cannot read {name} ({exc})") from exc

    def delete(self, name: str) -> None:
        """One DeleteObject (S3 answers a missing object with success)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except _FAULTS as exc:
            raise MediaStorageUnavailableError(f"{self.label}: cannot delete {name} ({exc})") from exc

    def stat(self, name: str) -> StoredObject | None:
        """One HeadObject."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise MediaStorageUnavailableError(f"{self.label}: cannot look up {name} ({exc})") from exc
        except BotoCoreError as exc:
            raise MediaStorageUnavailableError(f"{self.label}: cannot look up {name} ({exc})") from exc
        return StoredObject(head["ContentLength"], head.get("ETag", "").strip('"'))

    def _key(self, name: str) -> str:
        """The object key of `name` (under AWS_LOCATION), as django-storages makes it."""
        try:
            return safe_join(self.storage.location, clean_name(name))
        except ValueError:
            raise SuspiciousOperation(f"{name!r} leaves AWS_LOCATION {self.storage.location!r}") from None

    def _problem(self, exc: BaseException) -> str:
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                return "the bucket does not exist: create it, or set AWS_STORAGE_BUCKET_NAME to an existing bucket"
            if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"} or status == 403:
                return (f"the credentials were refused ({code or status}): check AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY, and that they may write to the bucket")
            return f"the storage refused a probe object ({code or status}: {exc})"
        if isinstance(exc, NoCredentialsError):
            return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        if isinstance(exc, EndpointConnectionError):
            return f"cannot connect ({exc}): check AWS_S3_ENDPOINT_URL and that the server is running"
        return super()._problem(exc)


def _client(storage: S3Storage):
    """A client as django-storages' own connection makes it (S3Storage.connection): the same
    credentials or profile, endpoint, region, TLS and botocore config (addressing style,
    retries, pool size)."""
    if storage.session_profile:
        session = boto3.Session(profile_name=storage.session_profile)
    else:
        session = boto3.Session(
            aws_access_key_id=storage.access_key,
            aws_secret_access_key=storage.secret_key,
            aws_session_token=storage.security_token,
        )
    return session.client(
        "s3",
        region_name=storage.region_name,
        use_ssl=storage.use_ssl,
        endpoint_url=storage.endpoint_url,
        config=storage.client_config,
        verify=storage.verify,
    )
