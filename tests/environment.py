"""The tests' settings, as environment variables (a pytest plugin, `-p tests.environment` in
pyproject.toml, so they are set before pytest-django reads Django's settings). The
processes the tests start (the stack, the command line) inherit them.

The production defaults stay as they are (tests/unit/test_settings.py checks them); the
tests differ only where they must: a known secret key, plain HTTP (the test client, the live
server and the stack's gunicorn speak no TLS), and static files under their own names, which
the test client and the live server serve without `collectstatic`.
"""
import os

TEST_ENVIRONMENT = {
    "DJANGO_SECRET_KEY": "tests-only-secret-key-never-used-outside-the-test-suite-0123456789",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_COOKIES": "0",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    "DJANGO_STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
    # The project's processes never phone home; the Prefect test server is started by the tests.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}

for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
