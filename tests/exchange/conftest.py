"""Fixtures for the 1C site exchange over HTTP: a user with the exchange permission, a
temporary staging and exchange directory, the 1C client simulator on Django's test client,
the preparation runs' deployment on the session's Prefect test server with a worker in
this process that runs them (the real flow, real Prefect runs), and a real stack
(Prefect server, deployments, worker, Django) for whole exchanges."""
from __future__ import annotations

import contextvars
import threading

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connections
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound
from prefect.flow_engine import run_flow

from tests.admin.conftest import deployments  # noqa: F401  (the deployments on the test Prefect server)
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
def onec(client, exchange_user, exchange_dirs, exchange_worker) -> OneC:
    return OneC(django_client_transport(client), "onec", PASSWORD, poll_seconds=0.05)


@pytest.fixture
def prepare_deployment(prefect_server):
    """A fresh `prepare-exchange-import/onec-exchange` on the test server (no work pool)."""
    from flows.onec_exchange import prepare_exchange_import

    with get_client(sync_client=True) as client:
        try:
            client.delete_deployment(client.read_deployment_by_name("prepare-exchange-import/onec-exchange").id)
        except ObjectNotFound:
            pass
        return client.create_deployment(flow_id=client.create_flow(prepare_exchange_import), name="onec-exchange")


class PreparationWorker:
    """What the `onec-imports` worker does with the preparation runs, in this process:
    every scheduled run of the deployment is run, in a thread of its own, by Prefect's
    flow engine (the run the web request created, with its parameters)."""

    def __init__(self, deployment_id):
        self.deployment_id = deployment_id
        self.stopping = threading.Event()
        self.runs: dict = {}
        self.loop = threading.Thread(target=contextvars.copy_context().run, args=(self._pick_up,), daemon=True)
        self.loop.start()

    def _pick_up(self) -> None:
        from flows.onec_exchange import prepare_exchange_import

        scheduled = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))
        with get_client(sync_client=True) as client:
            while not self.stopping.wait(0.25):
                for flow_run in client.read_flow_runs(
                    flow_run_filter=scheduled,
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[self.deployment_id])),
                ):
                    if flow_run.id not in self.runs:
                        self.runs[flow_run.id] = thread = threading.Thread(
                            target=contextvars.copy_context().run, args=(self._run, prepare_exchange_import, flow_run),
                            daemon=True,
                        )
                        thread.start()

    @staticmethod
    def _run(flow, flow_run) -> None:
        try:
            run_flow(flow, flow_run=flow_run, parameters=flow_run.parameters, return_type="state")
        finally:
            connections.close_all()

    def stop(self) -> None:
        """Stop picking runs up; end the runs still waiting for an import (their sessions
        fail, so each run ends the exchange import and returns)."""
        from apps.imports.models import ImportSession
        from apps.imports.services.sessions import import_session_fail

        self.stopping.set()
        self.loop.join(10)
        for thread in self.runs.values():
            while thread.is_alive():
                for session_id in ImportSession.objects.filter(status__in=ImportSession.ACTIVE_STATUSES).values_list("pk", flat=True):
                    import_session_fail(session_id=session_id, error_message="the test ended")
                thread.join(0.5)


@pytest.fixture
def exchange_worker(prepare_deployment, monkeypatch):
    """A worker for the preparation runs, looking at the rows often (a test is short)."""
    import flows.onec_exchange

    monkeypatch.setattr(flows.onec_exchange, "WAIT_SECONDS", 0.05)
    monkeypatch.setattr(flows.onec_exchange, "RECONCILE_SECONDS", 0.2)
    worker = PreparationWorker(prepare_deployment)
    yield worker
    worker.stop()


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
