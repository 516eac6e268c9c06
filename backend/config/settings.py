"""Settings, read from the environment.

Every path setting accepts an absolute path or one relative to the repository root, so
commands behave the same from any working directory.
"""
import os
import sqlite3
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import language
from config.media_storage import s3_storage_backend

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent


def _path_from_env(name: str, default: str) -> Path:
    path = Path(os.environ.get(name) or default).expanduser()
    return path if path.is_absolute() else REPO_DIR / path


def _flag_from_env(name: str, default: bool) -> bool:
    """`1` on, `0` off, unset: the default."""
    value = os.environ.get(name, "")
    return default if value == "" else value == "1"


def _list_from_env(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless asked for: `./dev` sets DJANGO_DEBUG=1 for its development commands.
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ("dev-only-insecure-key" if DEBUG else "")
if not SECRET_KEY:
    # One line, before any command runs (a traceback would hide the variable's name).
    raise SystemExit(language.said_before_django(language.gettext_noop(
        "DJANGO_SECRET_KEY is not set: set it to a long random string (python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))'), or DJANGO_DEBUG=1 for development (docs/settings.md)"
    )))
ALLOWED_HOSTS = _list_from_env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")

# HTTPS behind a reverse proxy (docs/settings.md, "HTTPS"): on unless DEBUG, each
# overridable. nginx sets X-Forwarded-Proto; /healthz answers load balancers over plain HTTP.
_PROXY_PROTO_HEADER = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO")
SECURE_PROXY_SSL_HEADER = (_PROXY_PROTO_HEADER, "https") if _PROXY_PROTO_HEADER else None
SECURE_SSL_REDIRECT = _flag_from_env("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _flag_from_env("DJANGO_SECURE_COOKIES", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag_from_env("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _flag_from_env("DJANGO_SECURE_HSTS_PRELOAD", True)
# The admin's forms posted through the proxy: https://<host> for every allowed host
# (`.shop.ru` gives https://*.shop.ru) unless set.
CSRF_TRUSTED_ORIGINS = _list_from_env(
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    ",".join(f"https://{'*' + host if host.startswith('.') else host}" for host in ALLOWED_HOSTS if host != "*"),
)

INSTALLED_APPS = [
    "config.apps.ShopAdminConfig",  # django.contrib.admin with the 1C import page
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "apps.access",
    "apps.media",
    "apps.products",
    "apps.imports",
    "apps.onec_exchange",
    "apps.customers",
    "devtools",  # development commands (onec_demo_exchange)
]

MIDDLEWARE = [
    # First: a forged X-Forwarded-Proto/-Host from outside ONEC_EXCHANGE_TRUSTED_PROXIES is
    # dropped before SecurityMiddleware or anything else reads it.
    "apps.access.middleware.ForwardedHeadersFromTrustedProxiesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, before anything else reads the request
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Before the apps' templates: the admin's count templates (config/admin_counts.py).
        "DIRS": [BACKEND_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "libraries": {"admin_counts": "config.admin_counts"},
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

VAR_DIR = _path_from_env("APP_VAR_DIR", "var")
SQLITE_MINIMUM = (3, 38)  # docs/development.md
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The image import's SQL reads JSON parameters with -> and ->> (SQLite 3.38) and upserts
    # with RETURNING (3.35); an older SQLite would fail mid-import, so it stops here instead.
    if sqlite3.sqlite_version_info < SQLITE_MINIMUM:
        raise ImproperlyConfigured(language.said_before_django(
            language.gettext_noop(
                "SQLite %(minimum)s or newer is needed; this Python has %(version)s. Use a Python built with "
                "a newer SQLite, or PostgreSQL (DATABASE_URL)"
            ),
            minimum=".".join(map(str, SQLITE_MINIMUM)), version=sqlite3.sqlite_version,
        ))
    # Parallel chunk tasks write at once: WAL lets readers through, IMMEDIATE takes the
    # write lock up front (no deadlocking upgrades), and the timeout makes writers queue
    # instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One language for the whole site (no per-request switching): Russian, or English. The
# Russian texts are in locale/ru/LC_MESSAGES/django.po, compiled by `./dev setup`.
LANGUAGES = language.LANGUAGES
LANGUAGE_CODE = language.site_language()
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(language.said_before_django(
        language.gettext_noop("DJANGO_LANGUAGE_CODE=%(code)r: set it to one of %(codes)s"),
        code=LANGUAGE_CODE, codes=", ".join(dict(LANGUAGES)),
    ))
LOCALE_PATHS = [language.LOCALE_DIR]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Europe/Moscow")
USE_I18N = True
USE_TZ = True

# Static files: `collectstatic` puts them in STATIC_ROOT, WhiteNoise serves them from the web
# process, compressed, under hashed names with a far-future cache (with DEBUG, straight from
# the apps, as runserver does). docs/operations.md, "Static files".
STATIC_URL = "/static/"
STATIC_ROOT = _path_from_env("STATIC_ROOT", str(VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get("DJANGO_STATICFILES_STORAGE", "whitenoise.storage.CompressedManifestStaticFilesStorage"),
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = _path_from_env("MEDIA_ROOT", str(VAR_DIR / "media"))

# Media storage: the local MEDIA_ROOT by default; S3 (any S3-compatible server, through
# django-storages) when AWS_STORAGE_BUCKET_NAME is set, configured from django-storages'
# standard variables (config/media_storage.py; docs/media-and-s3.md).
# Uploads of one process at once (the files of the running chunks share them); also the S3
# client's connection pool, so no upload waits for a connection.
ONEC_IMAGE_UPLOAD_WORKERS = int(os.environ.get("ONEC_IMAGE_UPLOAD_WORKERS", "16"))
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["default"] = s3_storage_backend(os.environ, max_connections=ONEC_IMAGE_UPLOAD_WORKERS)

# The 1C exchange directory (CommerceML): goods/*.xml and goods/import_files/XX/*.
ONEC_DATA_DIR = _path_from_env("ONEC_DATA_DIR", "data/import_1c")
# Products per image-import task; each chunk is one retryable Prefect task run. 100 is
# the product's default: a failed chunk redoes little and progress moves often. Every
# task run has a fixed Prefect cost, so larger catalogs get larger chunks, up to 2000
# (apps/imports/options.py, docs/import-types.md).
ONEC_IMAGE_CHUNK_SIZE = int(os.environ.get("ONEC_IMAGE_CHUNK_SIZE", "100"))
# Chunk tasks running at once: one per core. The work either holds the GIL or waits on
# the disk, so threads beyond the cores only add kernel time (bench/RESULTS.md).
ONEC_IMPORT_MAX_WORKERS = int(os.environ.get("ONEC_IMPORT_MAX_WORKERS", str(min(8, os.cpu_count() or 1))))
# An import running longer than this is stopped by Prefect and its session fails saying how
# far it got (0: no limit).
ONEC_IMPORT_TIMEOUT_SECONDS = int(os.environ.get("ONEC_IMPORT_TIMEOUT_SECONDS", "3600"))
# An image chunk attempt that stores no photo for this long (stalled I/O) is abandoned and
# retried; the time counts from its last stored photo, not from its start.
ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS = int(os.environ.get("ONEC_IMAGE_CHUNK_TIMEOUT_SECONDS", "600"))
# A sharded image import (--shards N) fails when no worker on the shard pool picks a shard
# up within this many seconds: no host serves the pool.
ONEC_SHARD_START_TIMEOUT_SECONDS = int(os.environ.get("ONEC_SHARD_START_TIMEOUT_SECONDS", "120"))
# A running shard that sends no Prefect heartbeat this long (its worker or host died) is
# marked crashed and run once more (0: never). Shards beat every 30 s (prefect.yaml).
ONEC_SHARD_HEARTBEAT_TIMEOUT_SECONDS = int(os.environ.get("ONEC_SHARD_HEARTBEAT_TIMEOUT_SECONDS", "120"))
# Pillow refuses images above this many pixels (decompression bombs) when validating.
ONEC_IMAGE_MAX_PIXELS = int(os.environ.get("ONEC_IMAGE_MAX_PIXELS", str(50_000_000)))
# Web renditions made of every imported photo, FORMAT:WIDTH (webp, jpeg) separated by commas;
# empty: none are made (those already made stay). Checked by check-directory before a run.
ONEC_IMAGE_RENDITIONS = os.environ.get("ONEC_IMAGE_RENDITIONS", "webp:320,webp:800,webp:1600,jpeg:800")

# The 1C site exchange over HTTP at /1c/exchange (docs/connecting-1c.md). Received files
# wait here, one folder per exchange, until their import lays them out in ONEC_DATA_DIR
# (keep both on one file system: files are moved by renaming).
ONEC_EXCHANGE_STAGING_DIR = _path_from_env("ONEC_EXCHANGE_STAGING_DIR", str(VAR_DIR / "exchange_1c"))
# The most 1C sends in one `file` request; larger files come in pieces of this size.
ONEC_EXCHANGE_FILE_LIMIT = int(os.environ.get("ONEC_EXCHANGE_FILE_LIMIT", str(100 * 1024 * 1024)))
# An archive from 1C is refused beyond these (zip bombs, broken archives).
ONEC_EXCHANGE_ZIP_MAX_ENTRIES = int(os.environ.get("ONEC_EXCHANGE_ZIP_MAX_ENTRIES", "200000"))
ONEC_EXCHANGE_ZIP_MAX_BYTES = int(os.environ.get("ONEC_EXCHANGE_ZIP_MAX_BYTES", str(50 * 1024**3)))
ONEC_EXCHANGE_ZIP_MAX_RATIO = int(os.environ.get("ONEC_EXCHANGE_ZIP_MAX_RATIO", "200"))
# Failed logins from one client address before it is locked out, and for how long
# (apps/access/lockout.py: one lock-out, each entry point counting its own failures).
ONEC_EXCHANGE_AUTH_MAX_FAILURES = int(os.environ.get("ONEC_EXCHANGE_AUTH_MAX_FAILURES", "5"))
ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES = int(os.environ.get("ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES", "15"))
ADMIN_LOGIN_MAX_FAILURES = int(os.environ.get("ADMIN_LOGIN_MAX_FAILURES", "5"))
ADMIN_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("ADMIN_LOGIN_LOCKOUT_MINUTES", "15"))
# Behind a reverse proxy: the addresses (or networks, 10.0.0.0/8) of the proxies trusted to
# name the client and the scheme (X-Forwarded-Proto), for every request, comma-separated;
# empty: the connection's address (REMOTE_ADDR) is the client and no forwarded scheme is
# believed, whatever the headers say (apps/access/addresses.py). From a trusted proxy, the
# client is the rightmost address of ONEC_EXCHANGE_CLIENT_IP_HEADER (empty:
# HTTP_X_FORWARDED_FOR) not in this list.
ONEC_EXCHANGE_TRUSTED_PROXIES = _list_from_env("ONEC_EXCHANGE_TRUSTED_PROXIES", "")
ONEC_EXCHANGE_CLIENT_IP_HEADER = os.environ.get("ONEC_EXCHANGE_CLIENT_IP_HEADER", "")

# Alert e-mails (docs/operations.md#alerts): who is told when an import session fails, is
# cancelled or completes with errors, or when the nightly import is overdue. Empty: nobody.
ONEC_NOTIFY_EMAILS = _list_from_env("ONEC_NOTIFY_EMAILS", "")
ONEC_NOTIFY_MIN_ERRORS = int(os.environ.get("ONEC_NOTIFY_MIN_ERRORS", "1"))
ONEC_NIGHTLY_MAX_AGE_HOURS = float(os.environ.get("ONEC_NIGHTLY_MAX_AGE_HOURS", "26"))
# The site's address as people open it, for the session links in the mails (https://shop.example).
ONEC_SITE_URL = os.environ.get("ONEC_SITE_URL", "")
# The mail server the alerts go through (Django's settings, from the environment).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL", "0") == "1"
# Django waits for ever by default; a mail server that hangs must not hold a run's end.
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# Logs go to stderr (the access log to stdout: config/gunicorn.py), one line per event, with the
# import session's id where there is one (docs/operations.md, "Logs").
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"import_session": {"()": "apps.imports.log_context.ImportSessionLogFilter"}},
    "formatters": {
        "one_line": {
            "()": "config.log_format.OneLineFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s%(session)s: %(message)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "one_line", "filters": ["import_session"]},
    },
    "loggers": {
        # propagate False: the root logger has a console handler of its own in a Prefect process
        # (its records would be printed twice, the second time under Prefect's format).
        "apps": {"handlers": ["console"], "level": os.environ.get("APP_LOG_LEVEL", "WARNING"), "propagate": False},
        "config": {"handlers": ["console"], "level": os.environ.get("APP_LOG_LEVEL", "WARNING"), "propagate": False},
        # Django's own: failed requests (5xx, with their traceback) and refused ones, also with DEBUG off.
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
