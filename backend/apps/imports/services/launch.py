"""Start an import as a Prefect deployment run: the admin page's one action."""
from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, error_message

from ..exceptions import ImportAlreadyRunningError, ImportNotStartedError, PrefectUnavailableError
from ..import_types import import_type_spec
from ..models import ImportSession
from ..options import ImageImportOptions
from ..selectors import import_session_active
from .preflight import import_preflight_problems
from ..prefect_api.runs import prefect_api_check, prefect_deployment_id, prefect_deployment_run_create
from .reconcile import import_sessions_reconcile
from .sessions import import_session_attach_flow_run, import_session_create, import_session_fail

logger = logging.getLogger(__name__)


def import_launch_problems(*, import_type: str, data_dir: Path) -> list[Exception]:
    """Every reason starting this import now would fail: the exchange's rules, another
    import running, Prefect unreachable or not deployed. Empty when it can start."""
    problems: list[Exception] = list(import_preflight_problems(import_type=import_type, data_dir=data_dir))
    try:
        prefect_api_check()
        import_sessions_reconcile()
        prefect_deployment_id(name=import_type_spec(import_type).deployment_name)
    except PrefectUnavailableError as exc:
        problems.append(exc)
    if active := import_session_active():
        problems.append(ImportAlreadyRunningError(active))
    return problems


def import_session_launch(
    *,
    import_type: str,
    user,
    options: ImageImportOptions | None = None,
    started_by: str = ImportSession.StartedBy.ADMIN,
    remove_absent: bool | None = None,
) -> ImportSession:
    """Create the pending session and trigger its deployment run, as one step.

    `options` (the import page's choice) go to the flows of the types that take them (their
    spec's `options`), so the image options of the page never reach a catalog run.
    `started_by` says who asks (the admin page, or the 1C exchange over HTTP).
    `remove_absent` (exchange types only; None: the flow's default, True) says whether a
    full exchange's run removes what 1C no longer sends: the 1C exchange passes False for
    the runs of its files and True for the runs of its `deactivate`.

    The database lets only one session hold the running slot, so of two simultaneous
    launches one gets ImportNotStartedError. The run is created with an idempotency key
    derived from the session, so a retried API call cannot start a second run. If the
    trigger fails the session ends `failed` with the reason; it never stays pending.
    """
    spec = import_type_spec(import_type)
    data_dir = Path(settings.ONEC_DATA_DIR)
    problems = import_launch_problems(import_type=import_type, data_dir=data_dir)
    if problems:
        raise ImportNotStartedError(problems)

    parameters = {"data_dir": str(data_dir)}
    if spec.options is not None and isinstance(options, spec.options):
        parameters["options"] = options.as_parameters()
    if remove_absent is not None and spec.kinds:
        parameters["remove_absent"] = remove_absent
    try:
        session = import_session_create(
            import_type=import_type, started_by=started_by, user=user, parameters=parameters
        )
    except ImportAlreadyRunningError as exc:
        raise ImportNotStartedError([exc]) from None

    name = spec.deployment_name
    try:
        flow_run_id = prefect_deployment_run_create(
            deployment_id=prefect_deployment_id(name=name),
            parameters={**parameters, "session_id": session.pk},
            idempotency_key=f"import-session-{session.pk}",
        )
    except Exception as exc:  # whatever went wrong, the session must not stay pending
        reason = Message(
            gettext_noop("could not start Prefect deployment %(name)s: %(error)s"),
            name=repr(name), error=error_message(exc),
        )
        import_session_fail(session_id=session.pk, error_message=reason)
        logger.warning("import session #%s: %s", session.pk, reason)
        raise ImportNotStartedError([PrefectUnavailableError(reason)]) from exc
    logger.info("import session #%s: Prefect flow run %s", session.pk, flow_run_id)
    return import_session_attach_flow_run(session_id=session.pk, flow_run_id=flow_run_id)


def import_launch_slot_holder(error: ImportNotStartedError) -> ImportSession | None:
    """The session holding the running slot when that is the only reason a launch was
    refused: a caller that may wait (the 1C exchange) tries again later. None when
    something else must be fixed first."""
    problems = error.problems
    if problems and all(isinstance(problem, ImportAlreadyRunningError) for problem in problems):
        return problems[0].active_session or import_session_active()
    return None
