"""Work pools, as the import page asks about them: does the shard deployment's pool exist,
and how many of its workers are online."""
from __future__ import annotations

from dataclasses import dataclass

import httpx
from prefect.client.schemas.objects import WorkerStatus
from prefect.exceptions import ObjectNotFound

from ..exceptions import PrefectUnavailableError
from .runs import prefect_client

# A page load asks this: a Prefect that does not answer quickly means "no pool" for now.
POOL_QUESTION_SECONDS = 2


@dataclass(frozen=True)
class WorkPoolWorkers:
    name: str
    online: int


def prefect_deployment_pool_workers(*, deployment_name: str) -> WorkPoolWorkers | None:
    """The work pool of a deployment `<flow>/<deployment>` with its online workers; None
    when Prefect is not configured or does not answer, or the deployment or its pool does
    not exist."""
    try:
        with prefect_client(timeout=POOL_QUESTION_SECONDS) as client:
            pool = client.read_deployment_by_name(deployment_name).work_pool_name
            if not pool:
                return None
            workers = client.read_workers_for_work_pool(pool)
    except (PrefectUnavailableError, ObjectNotFound, httpx.HTTPError):
        return None  # a missing pool answers 404, which Prefect's client raises as an HTTP error
    return WorkPoolWorkers(pool, sum(worker.status == WorkerStatus.ONLINE for worker in workers))
