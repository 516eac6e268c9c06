"""Fixtures for the 1C site exchange over HTTP: a user with the exchange permission, a
temporary staging and exchange directory, the 1C client simulator on Django's test client,
and a real stack (Prefect server, deployments, worker, Django) for whole exchanges."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection

from tests.admin.conftest import deployments  # noqa: F401  (the deployments on the test Prefect server)
from tests.e2e.conftest import Stack
from tests.exchange.client_1c import OneC, django_client_transport

PASSWORD = "s3cret-Пароль"


def grant_exchange(user: User) -> User:
    user.user_permissions.add(Permission.objects.get(codename="exchange_1c", content_type__app_label="integrations"))
    return user


@pytest.fixture
def exchange_user(db) -> User:
    return grant_exchange(User.objects.create_user("onec", password=PASSWORD))


@pytest.fixture
def exchange_dirs(tmp_path, settings):
    """ONEC_DATA_DIR and ONEC_EXCHANGE_STAGING_DIR in a temporary directory."""
    settings.ONEC_DATA_DIR = tmp_path / "import_1c"
    settings.ONEC_EXCHANGE_STAGING_DIR = tmp_path / "staging"
    settings.ONEC_EXCHANGE_FILE_LIMIT = 64 * 1024
    settings.ONEC_DATA_DIR.mkdir()
    return tmp_path


@pytest.fixture
def onec(client, exchange_user, exchange_dirs) -> OneC:
    return OneC(django_client_transport(client), "onec", PASSWORD, poll_seconds=0.05)


@pytest.fixture
def exchange_stack(running_stack, sample_dir_or_skip):
    """The session's stack (Prefect server, work pool, `prefect deploy --all`, a worker and
    Django's server on the test database), with an empty exchange directory that only 1C's
    HTTP exchange fills."""
    running_stack.reset()
    return running_stack


@pytest.fixture(scope="package")
def sample_dir_or_skip():
    from tests.conftest import SAMPLE_DIR

    if not (SAMPLE_DIR / "goods" / "goods.xml").is_file():
        pytest.skip(f"the real 1C sample is not at {SAMPLE_DIR} (it lives in ../shared/onec-sample)")
    return SAMPLE_DIR
