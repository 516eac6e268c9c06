"""Before the CLI lets Prefect's embedded server stop, the server has recorded every task
run of the flow run (stopping it mid-write printed CancelledError tracebacks)."""
from __future__ import annotations

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort

from apps.imports.prefect_api.embedded import wait_for_task_run_records

pytestmark = pytest.mark.usefixtures("prefect_server")


@task(cache_policy=NO_CACHE)
def double(value: int) -> int:
    return 2 * value


@flow
def many_tasks(count: int) -> int:
    return sum(future.result() for future in double.map(range(count)))


def test_waits_until_every_task_run_is_recorded_final():
    state = many_tasks(40, return_state=True)
    flow_run_id = state.state_details.flow_run_id

    assert wait_for_task_run_records(flow_run_id) is True

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_DESC,
            limit=100,
        )
    assert len(runs) == 40
    assert {run.state.type.value for run in runs} == {"COMPLETED"}
