"""The S3 media storage, built from django-storages' standard environment variables.

One function, read by settings (when AWS_STORAGE_BUCKET_NAME is set), the storage tests
and the S3 benchmark, so all three talk to S3 the same way; the import's own client
(apps/media/storage/s3.py) is built from the S3Storage this configures."""
from __future__ import annotations

from collections.abc import Mapping


def s3_storage_backend(environ: Mapping[str, str], *, max_connections: int) -> dict:
    """A STORAGES entry for django-storages' S3Storage.

    Path-style addressing and checksums only when required suit S3-compatible servers
    (boto3 >= 1.36 sends CRC checksums many of them refuse). Throttling (503 SlowDown) and
    dropped connections are retried with backoff, AWS_MAX_ATTEMPTS in all: by the import's
    obstore client (exponential backoff from 100 ms) and by boto3 for django-storages
    (AWS_RETRY_MODE "standard", or "adaptive" to also slow down the client). The import's
    client reads the same settings from this S3Storage (apps/media/storage/s3.py). A photo
    replaced in 1C overwrites its object in place (AWS_S3_FILE_OVERWRITE), never a renamed
    copy.
    """
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    def get(name: str, default: str | None = None) -> str | None:
        return environ.get(name) or default

    custom_domain = get("AWS_S3_CUSTOM_DOMAIN")
    options = {
        "bucket_name": environ["AWS_STORAGE_BUCKET_NAME"],
        "endpoint_url": get("AWS_S3_ENDPOINT_URL"),
        "region_name": get("AWS_S3_REGION_NAME"),
        # None: boto3's own chain (the same environment variables, a profile, an instance role).
        "access_key": get("AWS_ACCESS_KEY_ID"),
        "secret_key": get("AWS_SECRET_ACCESS_KEY"),
        "custom_domain": custom_domain,
        "location": get("AWS_LOCATION", ""),
        # Behind a CDN (custom domain) URLs are plain; straight from the bucket, signed.
        "querystring_auth": get("AWS_QUERYSTRING_AUTH", "0" if custom_domain else "1") == "1",
        "default_acl": get("AWS_DEFAULT_ACL"),
        "file_overwrite": True,
        "object_parameters": {"CacheControl": get("AWS_S3_CACHE_CONTROL", "public, max-age=86400")},
        # This config replaces django-storages' own, so the addressing style is set here.
        "client_config": Config(
            s3={"addressing_style": get("AWS_S3_ADDRESSING_STYLE", "path")},
            signature_version=get("AWS_S3_SIGNATURE_VERSION"),
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": get("AWS_RETRY_MODE", "standard"), "max_attempts": int(get("AWS_MAX_ATTEMPTS", "5"))},
            max_pool_connections=max_connections,
            connect_timeout=float(get("AWS_S3_CONNECT_TIMEOUT", "5")),
            read_timeout=float(get("AWS_S3_READ_TIMEOUT", "30")),
        ),
        # django-storages' own uploads (the admin's): one PUT each, no extra threads.
        "transfer_config": TransferConfig(use_threads=False),
    }
    if get("AWS_S3_URL_PROTOCOL"):
        options["url_protocol"] = get("AWS_S3_URL_PROTOCOL")
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
