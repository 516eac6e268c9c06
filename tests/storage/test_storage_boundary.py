"""Storage goes through one adapter (the package apps/media/storage/): no other module imports
django-storages, reaches into a storage's private attributes or its boto3 connection, or
branches on the storage's class."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADAPTER = REPO / "backend" / "apps" / "media" / "storage"
LEAKS = re.compile(
    r"^\s*(?:from|import) storages\b"  # django-storages itself
    r"|_normalize_name|_get_write_parameters|_create_session|connection\.meta"  # its internals
    r"|storage\w*\._[a-z]"  # a private attribute of a storage object
    r"|isinstance\([^)]*(?:FileSystemStorage|S3Storage)"  # a branch on the backend
)


def test_only_the_adapter_touches_the_storage_backends():
    leaks = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in ("backend", "flows", "bench", "devtools", "tests")
        for path in sorted((REPO / folder).rglob("*.py"))
        if ADAPTER not in path.parents and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if LEAKS.search(line)
    ]
    assert leaks == [], "use apps.media.storage.media_storage() instead:\n" + "\n".join(leaks)


def test_the_check_finds_a_leak():
    assert LEAKS.search("    key = storage._normalize_name(name)")
    assert LEAKS.search("client = default_storage.connection.meta.client")
    assert LEAKS.search("if isinstance(storage, FileSystemStorage):")
    assert LEAKS.search("from storages.backends.s3 import S3Storage")
    assert not LEAKS.search("from django.core.files.storage import storages")
