"""The Django side's only conversation with the Prefect API: deployments and flow runs.

Django never starts an embedded Prefect server: without PREFECT_API_URL these functions
refuse with a message saying what to set.
"""
from __future__ import annotations

import functools
import logging
import ssl
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import certifi
import httpx
from django.utils.translation import gettext_noop

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, get_current_settings, temporary_settings
from prefect.states import State

from apps.i18n.messages import Message

from ..exceptions import PrefectUnavailableError

logger = logging.getLogger(__name__)

# Page loads call into Prefect: a server that does not answer must not hang them.
REQUEST_TIMEOUT_SECONDS = 10
# What a busy Prefect server answers (its database locked, a proxy's queue full): ask later.
PREFECT_BUSY_STATUSES = frozenset({429, 502, 503, 504})


def prefect_api_url() -> str:
    url = get_current_settings().api.url
    if not url:
        raise PrefectUnavailableError(Message(gettext_noop(
            "PREFECT_API_URL is not set for the Django process: start everything with ./dev stack, "
            "or set PREFECT_API_URL to the Prefect server's API (e.g. http://127.0.0.1:4200/api)"
        )))
    return url


def prefect_client(*, timeout: float = REQUEST_TIMEOUT_SECONDS, **httpx_settings) -> SyncPrefectClient:
    """A client of the configured server (never an embedded one); use it as a context manager."""
    prefect_api_url()
    return get_client(sync_client=True, httpx_settings={"timeout": timeout, "verify": _tls_verify(), **httpx_settings})


def _tls_verify() -> ssl.SSLContext:
    settings = get_current_settings().api
    return _tls_context(settings.ssl_cert_file or certifi.where(), settings.tls_insecure_skip_verify)


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str, skip_verify: bool) -> ssl.SSLContext:
    """The TLS context Prefect's client would make for these settings, made once per process:
    Prefect makes one for every client, reading the whole CA bundle each time, and the import
    page and each 1C poll open a client per question (its cost: bench/RESULTS.md, the test
    suite's wall time, session 12). A context is safe to share between threads and clients."""
    if skip_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=cert_file)


class _PrefectBusy(Exception):
    """The server answered that it is busy; raised from the response hook, so that the
    client's retry loop (which sleeps 2 s even with its retries off) never sees the answer."""


def _refuse_busy_answer(response: httpx.Response) -> None:
    if response.status_code in PREFECT_BUSY_STATUSES:
        raise _PrefectBusy(response.status_code)


def prefect_api_check() -> None:
    """Refuse when the Prefect API does not answer."""
    url = prefect_api_url()
    with prefect_client() as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise PrefectUnavailableError(Message(
            gettext_noop(
                "the Prefect API at %(url)s is not reachable (%(error)s): start the Prefect server (./dev stack) "
                "or fix PREFECT_API_URL"
            ),
            url=url, error=f"{type(problem).__name__}: {problem}",
        ))


def prefect_api_answers(*, seconds: float) -> None:
    """Refuse unless the Prefect API answers its health check within `seconds`: one request,
    not retried (the health check's; `prefect_api_check` waits as long as a page does)."""
    url = prefect_api_url()
    with _prefect_client_within(seconds) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise PrefectUnavailableError(Message(
            gettext_noop("the Prefect API at %(url)s does not answer (%(error)s)"),
            url=url, error=f"{type(problem).__name__}: {problem}",
        ))


@contextmanager
def _prefect_client_within(seconds: float) -> Iterator[SyncPrefectClient]:
    """A client whose requests all end within `seconds` in all: each is given half the time
    left to connect and half to be answered (httpx's timeouts are per phase, not per
    request), and none starts once the time is up. No retries: not the client's (it waits
    2, 4, 8... seconds before each one, even for a busy answer; a busy answer raises
    _PrefectBusy), nor the connection's (Prefect's transport tries a refused or timed-out
    connection 3 more times, 1.5 s of sleeps, unless given a transport of its own)."""
    deadline = time.monotonic() + seconds

    def within_the_time_left(request: httpx.Request) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpx.PoolTimeout(f"no time left for {request.method} {request.url.path}", request=request)
        request.extensions["timeout"] = httpx.Timeout(left / 2).as_dict()

    with (
        temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}),
        prefect_client(
            timeout=seconds,  # each request's is set by within_the_time_left
            transport=httpx.HTTPTransport(verify=_tls_verify(), retries=0),
            event_hooks={"request": [within_the_time_left], "response": [_refuse_busy_answer]},
        ) as client,
    ):
        yield client


def _deployment_by_name(client: SyncPrefectClient, name: str):
    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        raise PrefectUnavailableError(Message(
            gettext_noop(
                "Prefect deployment %(name)s does not exist on %(url)s: run `prefect --no-prompt deploy --all` "
                "from the repository root (./dev stack does it)"
            ),
            name=repr(name), url=prefect_api_url(),
        )) from None


def prefect_deployment_id(*, name: str) -> uuid.UUID:
    """The id of a deployment `<flow>/<deployment>`; refuse if it was never deployed."""
    with prefect_client() as client:
        return _deployment_by_name(client, name).id


def prefect_deployment_run_create(
    *, deployment_id: uuid.UUID, parameters: dict[str, Any], idempotency_key: str
) -> uuid.UUID:
    """Schedule a run of a deployment now; the same key never creates a second run."""
    with prefect_client() as client:
        flow_run = client.create_flow_run_from_deployment(
            deployment_id, parameters=parameters, idempotency_key=idempotency_key
        )
    return flow_run.id


def prefect_deployment_run_create_within(
    *, name: str, parameters: dict[str, Any], idempotency_key: str, seconds: float
) -> uuid.UUID | None:
    """Schedule a run of the deployment `<flow>/<deployment>` now, in one client whose
    requests take at most `seconds` in all; None when Prefect did not answer in time or said
    it is busy (ask again with the same key: a run the server made meanwhile is returned,
    never a second one)."""
    try:
        with _prefect_client_within(seconds) as client:
            flow_run = client.create_flow_run_from_deployment(
                _deployment_by_name(client, name).id, parameters=parameters, idempotency_key=idempotency_key
            )
    except (httpx.TimeoutException, _PrefectBusy):
        return None
    return flow_run.id


def prefect_flow_run_read(*, flow_run_id: uuid.UUID) -> FlowRun | None:
    """The flow run, or None when the server has no such run; PrefectUnavailableError when
    the server cannot be reached."""
    with prefect_client() as client:
        try:
            return client.read_flow_run(flow_run_id)
        except ObjectNotFound:
            return None
        except httpx.HTTPError as exc:
            raise PrefectUnavailableError(Message(
                gettext_noop(
                    "could not reach Prefect at %(url)s to read flow run %(id)s (%(error)s); "
                    "check that the Prefect server is running and PREFECT_API_URL is right"
                ),
                url=prefect_api_url(), id=str(flow_run_id), error=str(exc),
            )) from exc


def prefect_flow_run_cancel(*, flow_run_id: uuid.UUID, reason: str) -> Message | None:
    """Move the flow run to Cancelling (a worker then stops its process; a run that never
    started goes straight to Cancelled). Returns a note for the session's message, if any."""
    api_url = get_current_settings().api.url
    if not api_url:
        # Runs on Prefect's embedded server live in the process that started them
        # (`import_1c` in a terminal); this process cannot reach them.
        return Message(gettext_noop(
            "PREFECT_API_URL is not set, so the flow run itself was not asked to stop: "
            "if `import_1c` is still running in a terminal, stop it with Ctrl-C"
        ))
    try:
        with prefect_client() as client:
            flow_run = client.read_flow_run(flow_run_id)
            if flow_run.state and flow_run.state.is_final():
                return Message(gettext_noop("its flow run had already ended (%(state)s)"), state=flow_run.state.name)
            result = client.set_flow_run_state(
                flow_run_id=flow_run_id, state=State(type=StateType.CANCELLING, message=reason)
            )
            # A sharded image import's shards are subflow runs on other workers: stop them too.
            for subflow_run in client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
            ):
                if subflow_run.state and not subflow_run.state.is_final():
                    client.set_flow_run_state(
                        flow_run_id=subflow_run.id, state=State(type=StateType.CANCELLING, message=reason)
                    )
    except ObjectNotFound:
        logger.warning("flow run %s is not known to Prefect at %s", flow_run_id, api_url)
        return Message(
            gettext_noop("Prefect at %(url)s does not know its flow run %(id)s"), url=api_url, id=str(flow_run_id)
        )
    except httpx.HTTPError as exc:
        raise PrefectUnavailableError(Message(
            gettext_noop(
                "could not reach Prefect at %(url)s to cancel flow run %(id)s (%(error)s); "
                "check that the Prefect server is running and PREFECT_API_URL is right, then cancel again"
            ),
            url=api_url, id=str(flow_run_id), error=str(exc),
        )) from exc
    if result.status == SetStateStatus.ABORT:
        raise PrefectUnavailableError(Message(
            gettext_noop("Prefect refused to cancel flow run %(id)s: %(reason)s"),
            id=str(flow_run_id), reason=result.details.reason,
        ))
    logger.info("flow run %s -> %s", flow_run_id, result.state.name if result.state else "cancelling")
    return None
