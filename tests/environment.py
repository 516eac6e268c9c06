"""The tests' settings, as environment variables (a pytest plugin, `-p tests.environment` in
pyproject.toml, so they are set before pytest-django reads Django's settings). The
processes the tests start (the stack, the command line) inherit them.

The production defaults stay as they are (tests/unit/test_settings.py checks them); the
tests differ only where they must: a known secret key, plain HTTP (the test client, the live
server and the stack's gunicorn speak no TLS), and static files under their own names, which
the test client and the live server serve without `collectstatic`; and one cost that is not
the product's: every Prefect client (the flow engine makes new ones for each run, in the test
process, the stack's runs and the command line) builds a TLS context from its CA file, 16 ms
of CPU with certifi's bundle of about 140 certificates, though every Prefect server of the
tests speaks plain HTTP on 127.0.0.1. A CA file of one certificate no server uses takes 0.3 ms
(`tests/unit/test_prefect_client_tls.py` sets its own).
"""
import os
from pathlib import Path

TEST_ENVIRONMENT = {
    "DJANGO_SECRET_KEY": "tests-only-secret-key-never-used-outside-the-test-suite-0123456789",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_COOKIES": "0",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    "DJANGO_STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
    # The project's processes never phone home; the Prefect test server is started by the tests.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_API_SSL_CERT_FILE": str(Path(__file__).with_name("unused-ca.pem")),
}

for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
