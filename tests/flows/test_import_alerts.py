"""Alert e-mails (apps/imports/services/alerts.py, flows/alerts.py) through a real SMTP
server: one mail per failed, cancelled or erroneous session, whoever ended it; none for a
clean run; a mail server that is down never touches the import; the overdue nightly import
is told once."""
import logging
import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from prefect import get_client
from prefect.states import Scheduled

import flows.alerts
from apps.imports.models import ImportAlert, ImportSession
from apps.imports.services.sessions import import_session_create
from apps.products.models import Product
from flows.alerts import check_import_alerts
from flows.images import import_images
from devtools.ports import free_port
from tests.flows.helpers import cli_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server", "media_root")]

TO = ["shop-owner@example.com", "admin@example.com"]
SITE = "https://shop.example"


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.ONEC_NOTIFY_EMAILS = TO
    settings.ONEC_SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = "imports@shop.example"
    settings.LANGUAGE_CODE = "en"  # the words below are the messages' own (the ru catalogue translates them)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """The check's sending step retried at once (in production, minutes apart)."""
    monkeypatch.setattr(flows.alerts, "send_due_alerts", flows.alerts.send_due_alerts.with_options(retry_delay_seconds=0))


def _subject(mail) -> str:
    """The subject as a reader sees it (a long encoded subject is folded over lines)."""
    return " ".join(str(mail["Subject"]).split())


def _session_page(session_id: int) -> str:
    return f"{SITE}/admin/integrations/importsession/{session_id}/change/"


def _products(exchange, *, good: int, broken: int = 0) -> None:
    """`good` products with a photo each, `broken` ones whose photo file is missing."""
    for n in range(good):
        guid = f"{n:02x}000000-0000-0000-0000-000000000000"
        Product.objects.create(onec_id=guid, onec_picture_paths=[exchange.add_image(guid, "p0")])
    for n in range(broken):
        Product.objects.create(onec_id=f"e{n}000000-missing", onec_picture_paths=[f"import_files/e{n}/missing{n}.jpg"])


def _import_images(exchange, *, started_by="admin"):
    session = import_session_create(import_type="images", started_by=started_by)
    state = import_images(session_id=session.pk, data_dir=str(exchange.root), return_state=True)
    session.refresh_from_db()
    return session, state


@pytest.mark.parametrize("started_by, label", [("admin", "Administrator"), ("exchange", "1C exchange")])
def test_a_failed_run_mails_its_type_status_reason_and_page_once(exchange, smtp_server, started_by, label):
    session, state = _import_images(exchange, started_by=started_by)  # no products: the catalog check fails the run

    assert state.is_failed() and session.status == "failed"
    (mail,) = smtp_server.messages
    assert mail["To"] == ", ".join(TO) and mail["From"] == "imports@shop.example"
    assert _subject(mail) == f"1C import #{session.pk} (Product images) failed"
    body = mail.get_content()
    assert "Type: Product images" in body and "Status: Failed" in body and f"Started by: {label}" in body
    assert f"Reason: {session.error_message}" in body and "catalog" in session.error_message
    assert f"Session page: {_session_page(session.pk)}" in body
    assert ImportAlert.objects.get(session=session).state == ImportAlert.State.SENT

    check_import_alerts()  # the scheduled check sends what is due: nothing more

    assert len(smtp_server.messages) == 1


def test_a_command_line_run_in_its_own_process_mails_through_the_environment_s_settings(
        exchange, smtp_server, settings, session_prefect_api_url):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs a database another process can see (run with PostgreSQL, as ./dev test does)")
    env = {
        "ONEC_NOTIFY_EMAILS": ",".join(TO), "ONEC_SITE_URL": SITE,
        "EMAIL_HOST": settings.EMAIL_HOST, "EMAIL_PORT": str(settings.EMAIL_PORT),
    }

    run = cli_run("images", "--data-dir", str(exchange.root), env=env,  # no products: fails
                  prefect_api_url=session_prefect_api_url)

    assert run.returncode == 1
    session = ImportSession.objects.get()
    assert (session.started_by, session.status) == ("cli", "failed")
    (mail,) = smtp_server.messages
    assert mail["To"] == ", ".join(TO) and f"#{session.pk}" in _subject(mail)
    assert _session_page(session.pk) in mail.get_content()


def test_a_run_completed_with_errors_mails_counters_and_the_first_errors(exchange, smtp_server):
    _products(exchange, good=2, broken=12)

    session, state = _import_images(exchange, started_by="cli")

    assert state.is_completed() and session.outcome == "completed_with_errors"
    (mail,) = smtp_server.messages
    assert _subject(mail) == f"1C import #{session.pk} (Product images) completed with 12 errors"
    body = mail.get_content()
    assert "Status: Completed" in body and "Started by: Command line" in body
    assert f"Reason: {session.error_message}" in body
    counters = session.report_details
    assert counters["copied"] == 2 and counters["errors"] == 12
    assert "The first 10 of 12 errors:" in body and body.count("missing") >= 10
    assert f"Session page: {_session_page(session.pk)}" in body


def test_fewer_errors_than_the_minimum_and_a_clean_run_mail_nothing(exchange, smtp_server, settings):
    settings.ONEC_NOTIFY_MIN_ERRORS = 2
    _products(exchange, good=2, broken=1)

    with_one_error, state = _import_images(exchange)
    Product.objects.filter(onec_id__startswith="e").delete()
    clean, clean_state = _import_images(exchange)
    check_import_alerts()

    assert state.is_completed() and with_one_error.report_details["errors"] == 1
    assert clean_state.is_completed() and clean.outcome == "completed"
    assert smtp_server.messages == [] and not ImportAlert.objects.exists()


def test_a_refused_scheduled_run_is_mailed(exchange, smtp_server):
    running = import_session_create(import_type="catalog", started_by="cli")

    state = import_images(data_dir=str(exchange.root), return_state=True)

    assert state.is_failed()
    refused = ImportSession.objects.exclude(pk=running.pk).get()
    (mail,) = smtp_server.messages
    assert _subject(mail) == f"1C import #{refused.pk} (Product images) failed"
    assert "Started by: Schedule" in mail.get_content() and "scheduled run skipped" in mail.get_content()


def test_a_session_cancelled_in_the_admin_is_mailed_by_the_check_not_by_the_web_request(admin_client, smtp_server):
    session = import_session_create(import_type="images", started_by="admin")
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run(import_images, parameters={"session_id": session.pk}, state=Scheduled())
    ImportSession.objects.filter(pk=session.pk).update(flow_run_id=flow_run.id)

    admin_client.post(reverse("admin:integrations_importsession_cancel", args=[session.pk]))

    assert ImportSession.objects.get(pk=session.pk).status == "cancelled"
    assert smtp_server.messages == []  # the web request answers; the check mails
    assert ImportAlert.objects.get(session=session).state == ImportAlert.State.DUE

    check_import_alerts()
    check_import_alerts()

    (mail,) = smtp_server.messages
    assert _subject(mail) == f"1C import #{session.pk} (Product images) was cancelled"
    assert "Reason: cancelled by admin in the admin" in mail.get_content()


def test_a_busy_mail_server_is_retried_and_still_mailed_once(exchange, smtp_server, admin_client):
    _products(exchange, good=1, broken=1)
    smtp_server.refuse = 2  # the run's end and the check's first attempt are refused

    session, state = _import_images(exchange)

    assert state.is_completed() and session.status == "completed" and smtp_server.messages == []
    alert = ImportAlert.objects.get(session=session)
    assert alert.state == ImportAlert.State.FAILED and "451" in alert.error

    check_state = check_import_alerts(return_state=True)
    check_import_alerts()

    assert check_state.is_completed()
    (mail,) = smtp_server.messages
    assert _subject(mail) == f"1C import #{session.pk} (Product images) completed with 1 error"
    alert.refresh_from_db()
    assert alert.state == ImportAlert.State.SENT and alert.error == "" and alert.sent_at
    page = admin_client.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()
    assert "Alert mail:" in page and "sent " in page and "not sent" not in page


@pytest.fixture
def dead_mail_server(request, settings):
    """Django's SMTP backend pointed at a mail server that is down: a closed port (refused),
    or one that accepts connections and never answers (hangs; EMAIL_TIMEOUT 1 s). Yields
    what the error says."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_TIMEOUT = 1
    if request.param == "refused":
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
        yield "ConnectionRefusedError"
        return
    with socket.socket() as silent:  # the kernel completes the handshake; nobody ever greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.EMAIL_HOST, settings.EMAIL_PORT = silent.getsockname()
        yield "timed out"


@pytest.mark.parametrize("dead_mail_server", ["refused", "hangs"], indirect=True)
def test_a_mail_server_that_is_down_leaves_the_import_alone_and_is_logged(
    exchange, settings, caplog, admin_client, dead_mail_server
):
    _products(exchange, good=2, broken=1)

    with caplog.at_level(logging.WARNING, logger="apps.imports.services.alerts"):
        session, state = _import_images(exchange)

    assert state.is_completed() and session.status == "completed"
    assert (session.report_details["copied"], session.report_details["errors"]) == (2, 1)
    alert = ImportAlert.objects.get(session=session)
    assert alert.state == ImportAlert.State.FAILED
    assert f"127.0.0.1:{settings.EMAIL_PORT}" in alert.error and dead_mail_server in alert.error
    assert alert.error in caplog.text and "EMAIL_HOST" in alert.error
    page = admin_client.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()
    assert "Alert mail:" in page and "not sent: " in page and dead_mail_server in page

    check_state = check_import_alerts(return_state=True)  # the check fails visibly, and says why
    assert check_state.is_failed() and "not sent" in check_state.message


def test_an_overdue_nightly_import_is_told_once_until_it_completes_and_falls_behind_again(smtp_server, settings):
    settings.ONEC_NIGHTLY_MAX_AGE_HOURS = 26.0  # as read from the environment
    settings.ONEC_NOTIFY_EMAILS = []  # the sessions' own alerts are not what this test reads
    last = _ended_session("completed", hours_ago=30)
    _ended_session("completed", hours_ago=2, dry_run=True)  # a dry run imports nothing: not counted
    failed = _ended_session("failed", hours_ago=1, reason="the exchange directory is missing")
    settings.ONEC_NOTIFY_EMAILS = TO

    check_import_alerts()
    check_import_alerts()

    (mail,) = smtp_server.messages
    assert _subject(mail) == "1C import: the nightly Product images import has not completed for 30 hours"
    body = mail.get_content()
    assert "Allowed: 26 hours (ONEC_NIGHTLY_MAX_AGE_HOURS)." in body
    assert f"Last completed: session #{last.pk}" in body and _session_page(last.pk) in body
    assert f"Latest session: #{failed.pk}, Failed: the exchange directory is missing" in body

    settings.ONEC_NOTIFY_EMAILS = []
    recent = _ended_session("completed", hours_ago=1)
    settings.ONEC_NOTIFY_EMAILS = TO
    check_import_alerts()
    assert len(smtp_server.messages) == 1  # completed an hour ago: not overdue

    ImportSession.objects.filter(pk=recent.pk).update(finished_at=timezone.now() - timedelta(hours=27))
    check_import_alerts()

    assert len(smtp_server.messages) == 2
    assert f"Last completed: session #{recent.pk}" in smtp_server.messages[1].get_content()


def _ended_session(status: str, *, hours_ago: float, dry_run: bool = False, reason: str = "") -> ImportSession:
    """An images session that ended `hours_ago` with `status`, through the session services."""
    from apps.imports.services.sessions import import_session_complete, import_session_fail, import_session_start

    session = import_session_create(import_type="images", started_by="schedule", parameters={})
    ImportSession.objects.filter(pk=session.pk).update(report_details={"dry_run": dry_run})
    import_session_start(session_id=session.pk)
    if status == "completed":
        import_session_complete(session_id=session.pk)
    else:
        import_session_fail(session_id=session.pk, error_message=reason)
    ended = timezone.now() - timedelta(hours=hours_ago)
    ImportSession.objects.filter(pk=session.pk).update(finished_at=ended, created_at=ended)
    return ImportSession.objects.get(pk=session.pk)
