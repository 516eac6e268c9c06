"""Fixtures for the admin's 1C import page: users, products, an exchange directory and the
deployments of every import type on the session's Prefect test server (no work pool, so
their runs wait: these tests look at what was triggered, the e2e test at what ran)."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from apps.imports.import_types import IMPORT_TYPES
from apps.products.models import Product

PAGE_URL = "/admin/integrations/import_1c/"


@pytest.fixture
def importer(db) -> User:
    """Staff who may start imports and watch their sessions, and nothing else."""
    user = User.objects.create_user("importer", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["start_import", "view_importsession"], content_type__app_label="integrations")
    )
    return user


@pytest.fixture
def importer_client(client, importer):
    client.force_login(importer)
    return client


@pytest.fixture
def product(db) -> Product:
    return Product.objects.create(onec_id="0a1b2c3d-0000-0000-0000-000000000001", name="Мяч")


@pytest.fixture
def exchange_dir(exchange, settings):
    """ONEC_DATA_DIR pointing at an exchange with goods/goods.xml and goods/import_files/."""
    exchange.add_goods("0a1b2c3d-0000-0000-0000-000000000001", pictures=[exchange.add_image("0a1b2c3d")])
    exchange.write_goods_xml()
    settings.ONEC_DATA_DIR = exchange.root
    return exchange.root


@pytest.fixture
def deployments(prefect_server) -> dict[str, str]:
    """Fresh deployments `<flow>/<import type>` on the test server: import type -> id."""
    ids = {}
    with get_client(sync_client=True) as client:
        for spec in IMPORT_TYPES:
            try:
                client.delete_deployment(client.read_deployment_by_name(spec.deployment_name).id)
            except ObjectNotFound:
                pass
            ids[spec.key] = client.create_deployment(flow_id=client.create_flow(spec.load_flow()), name=spec.key)
    return ids


def flow_runs_of(deployment_id) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
