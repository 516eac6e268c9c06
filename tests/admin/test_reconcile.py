"""Reconciliation: a session whose Prefect run ended unseen is settled from the run's state."""
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from prefect.client.orchestration import get_client
from prefect.states import Cancelled, Completed, Crashed, Failed, Running

from apps.imports.models import ImportSession
from apps.imports.services.reconcile import import_sessions_reconcile
from apps.imports.services.sessions import import_session_create, import_session_start
from flows.images import import_images

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prefect_server")]


def _flow_run_in(state) -> uuid.UUID:
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(import_images, parameters={})
        client.set_flow_run_state(run.id, state, force=True)
    return run.id


def _admin_session(*, flow_run_id=None, in_progress=False, started_by="admin") -> ImportSession:
    session = import_session_create(import_type="images", started_by=started_by)
    if flow_run_id and in_progress:
        return import_session_start(session_id=session.pk, flow_run_id=flow_run_id)
    if flow_run_id:
        ImportSession.objects.filter(pk=session.pk).update(flow_run_id=flow_run_id)
    return session


@pytest.mark.parametrize(
    "state, status, words",
    [
        (Cancelled(message="Deployment concurrency limit reached."), "cancelled", "ended cancelled: Deployment concurrency limit reached."),
        (Crashed(message="Flow run infrastructure exited with non-zero status code -9."), "failed", "ended crashed: Flow run infrastructure exited"),
        (Failed(message="boom"), "failed", "ended with a failure: boom; see the run's logs in Prefect"),
        (Completed(), "failed", "but the import never recorded its result"),
    ],
)
def test_a_run_that_ended_settles_its_session(state, status, words):
    session = _admin_session(flow_run_id=_flow_run_in(state), in_progress=True)

    (settled,) = import_sessions_reconcile()

    assert settled.pk == session.pk
    session.refresh_from_db()
    assert session.status == status and session.running_slot is None and session.finished_at
    assert words in session.error_message


def test_how_the_run_ended_reads_in_the_site_s_language():
    """Prefect's state names are English ("Crashed"); the session says it in the site's words
    (ru by default), Prefect's own message kept as its detail."""
    session = _admin_session(flow_run_id=_flow_run_in(Crashed(message="exited with status -9")), in_progress=True)

    import_sessions_reconcile()

    session.refresh_from_db()
    assert "завершился: аварийно: exited with status -9" in session.error_message_text
    assert "Crashed" not in session.error_message_text


def test_a_run_that_is_still_going_is_left_alone():
    session = _admin_session(flow_run_id=_flow_run_in(Running()), in_progress=True)

    assert import_sessions_reconcile() == []
    session.refresh_from_db()
    assert session.status == "in_progress"


def test_a_run_prefect_does_not_know_fails_the_session():
    missing = uuid.uuid4()
    session = _admin_session(flow_run_id=missing)

    import_sessions_reconcile()

    session.refresh_from_db()
    assert session.status == "failed"
    assert f"Prefect has no flow run {missing}" in session.error_message


def test_a_session_never_given_a_run_fails_only_after_the_launch_grace():
    session = _admin_session()
    assert import_sessions_reconcile() == []

    ImportSession.objects.filter(pk=session.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    import_sessions_reconcile()

    session.refresh_from_db()
    assert session.status == "failed" and "no Prefect flow run was ever attached" in session.error_message


def test_cli_sessions_are_left_to_the_cli():
    session = _admin_session(flow_run_id=uuid.uuid4(), in_progress=True, started_by="cli")

    assert import_sessions_reconcile() == []
    session.refresh_from_db()
    assert session.status == "in_progress"


def test_management_command_reports_what_it_settled(capsys):
    session = _admin_session(flow_run_id=_flow_run_in(Cancelled(message="cancelled in the UI")), in_progress=True)

    call_command("reconcile_import_sessions")

    out = capsys.readouterr().out
    assert f"session #{session.pk}: cancelled" in out and "cancelled in the UI" in out
    assert "1 session(s) settled" in out


def test_a_cli_session_whose_process_is_gone_is_settled_and_frees_the_slot():
    child = subprocess.Popen(["true"])
    child.wait()  # reaped: its pid names no process any more
    session = import_session_start(session_id=_admin_session(started_by="cli").pk)
    ImportSession.objects.filter(pk=session.pk).update(runner={**session.runner, "pid": child.pid})

    settled = import_sessions_reconcile()

    session.refresh_from_db()
    assert [s.pk for s in settled] == [session.pk]
    assert session.status == "failed" and "stopped before finishing" in session.error_message
    assert import_session_create(import_type="images", started_by="cli").status == "pending"
