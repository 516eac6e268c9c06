"""Fixtures for the admin's 1C import page: users, products, an exchange directory and the
deployments of every import type on the session's Prefect test server (no work pool, so
their runs wait: these tests look at what was triggered, the e2e test at what ran)."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from prefect.exceptions import ObjectNotFound

from apps.imports.import_types import IMPORT_TYPES
from apps.imports.prefect_api.runs import prefect_client
from apps.products.models import Product

PAGE_URL = "/admin/integrations/import_1c/"
# The project's client (its TLS context made once, not per client); a loaded test server may be slow.
TEST_CLIENT_TIMEOUT_SECONDS = 60


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


def _deploy_afresh(client, spec):
    """The deployment `<flow>/<import type>`, made anew (what a test left under its name goes)."""
    try:
        client.delete_deployment(client.read_deployment_by_name(spec.deployment_name).id)
    except ObjectNotFound:
        pass
    return client.create_deployment(flow_id=client.create_flow(spec.load_flow()), name=spec.key)


def deploy_every_import_type() -> dict[str, str]:
    """The deployments `<flow>/<import type>` on the test server, made anew: import type -> id
    (the session's, `session_deployments` in tests/conftest.py)."""
    with prefect_client(timeout=TEST_CLIENT_TIMEOUT_SECONDS) as client:
        return {spec.key: _deploy_afresh(client, spec) for spec in IMPORT_TYPES}


@pytest.fixture
def deployments(session_deployments) -> dict[str, str]:
    """The deployments of every import type on the test server, as if made for this test:
    no flow runs of earlier tests, and one a test deleted or replaced is made again after it.
    Import type -> id."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    # One request for the runs of every deployment and one for the deployments: each request
    # costs the session's test server more CPU than this process, and some 35 tests take this.
    ids = session_deployments
    every_deployment = DeploymentFilter(id=DeploymentFilterId(any_=list(ids.values())))
    with prefect_client(timeout=TEST_CLIENT_TIMEOUT_SECONDS) as client:
        for run in client.read_flow_runs(deployment_filter=every_deployment):
            client.delete_flow_run(run.id)
    yield ids
    with prefect_client(timeout=TEST_CLIENT_TIMEOUT_SECONDS) as client:
        there = {deployment.id for deployment in client.read_deployments(deployment_filter=every_deployment)}
        for spec in IMPORT_TYPES:
            if ids[spec.key] not in there:  # deleted, or replaced by one of the same name
                ids[spec.key] = _deploy_afresh(client, spec)


def flow_runs_of(deployment_id, flow_run_filter=None) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with prefect_client(timeout=TEST_CLIENT_TIMEOUT_SECONDS) as client:
        return client.read_flow_runs(
            flow_run_filter=flow_run_filter,
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        )


@pytest.fixture
def site_photo_deployment(prefect_server):
    """A fresh `process-site-photo/site-photo` on the test server (no work pool: the runs
    the uploads ask for wait until `run_site_photo_runs` runs them)."""
    from apps.imports.services.site_photos import SITE_PHOTO_DEPLOYMENT
    from flows.site_photos import process_site_photo

    with prefect_client(timeout=TEST_CLIENT_TIMEOUT_SECONDS) as client:
        try:
            client.delete_deployment(client.read_deployment_by_name(SITE_PHOTO_DEPLOYMENT).id)
        except ObjectNotFound:
            pass
        return client.create_deployment(flow_id=client.create_flow(process_site_photo), name="site-photo")


def run_site_photo_runs(deployment_id) -> dict:
    """What the `onec-imports` worker does with the runs the uploads asked for, here: each
    scheduled run of the deployment, by Prefect's flow engine, with the parameters the web
    request gave it. Photo id -> the run's final state."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.flow_engine import run_flow

    from flows.site_photos import process_site_photo

    scheduled = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))
    states = {}
    for flow_run in flow_runs_of(deployment_id, flow_run_filter=scheduled):
        states[flow_run.parameters["photo_id"]] = run_flow(
            process_site_photo, flow_run=flow_run, parameters=flow_run.parameters, return_type="state"
        )
    return states


@pytest.fixture
def shard_pool(session_deployments) -> str:
    """The shard deployment on its work pool with one worker online (its heartbeat), as
    ./dev stack leaves them on the test server; removed afterwards. The pool's name."""
    from prefect.client.schemas.actions import WorkPoolCreate

    from flows.images import import_images_shard
    from flows.shards import SHARD_POOL

    with prefect_client(timeout=TEST_CLIENT_TIMEOUT_SECONDS) as client:
        client.create_work_pool(WorkPoolCreate(name=SHARD_POOL, type="process"), overwrite=True)
        deployment_id = client.create_deployment(
            flow_id=client.create_flow(import_images_shard), name="images-shard", work_pool_name=SHARD_POOL
        )
        client.send_worker_heartbeat(SHARD_POOL, "host-a")
    yield SHARD_POOL
    with prefect_client(timeout=TEST_CLIENT_TIMEOUT_SECONDS) as client:
        client.delete_deployment(deployment_id)
        client.delete_work_pool(SHARD_POOL)
