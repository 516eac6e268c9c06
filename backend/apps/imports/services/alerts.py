"""Alert e-mails to ONEC_NOTIFY_EMAILS: the rule for which sessions deserve one, their text,
the overdue-nightly check, and the one sending step.

A session's alert is recorded (an ImportAlert row, its text written then) in the same
transaction that ends the session (`services.sessions`), whoever ended it: the flow, the
admin's cancel, reconcile. It is sent by the flow's end hook (flows/common.py) and, for
sessions that ended elsewhere or whose mail server was down, by the `check-import-alerts`
deployment (flows/alerts.py). Sending claims each alert first, so a retried or repeated
step never mails twice; a mail server that does not answer is logged and recorded on the
alert, and never fails an import.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _, ngettext

from ..import_types import import_type_spec
from ..models import ImportAlert, ImportSession
from ..reports import counted, reason_text
from ..selectors import import_session_error_details

logger = logging.getLogger(__name__)

Status = ImportSession.Status
State = ImportAlert.State

# How many per-file (per-record) errors a session's mail lists.
MAIL_ERROR_LIMIT = 10
# Alerts not sent within this time (mail server down for a day) are no longer tried.
SEND_RETRY_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class AlertsSent:
    """What a sending step did: alerts mailed, and the reasons of those that were not."""

    sent: int = 0
    failures: list[str] = field(default_factory=list)


def import_session_deserves_alert(*, session: ImportSession) -> bool:
    """Failed and cancelled sessions, and completed ones with at least ONEC_NOTIFY_MIN_ERRORS errors."""
    if session.status in (Status.FAILED, Status.CANCELLED):
        return True
    return session.status == Status.COMPLETED and session.report.errors >= settings.ONEC_NOTIFY_MIN_ERRORS


def import_session_alert_record(*, session: ImportSession) -> ImportAlert | None:
    """Record the alert of a session that has just ended, if it deserves one and someone
    is to be told (ONEC_NOTIFY_EMAILS); the session's own transaction makes it one with the
    session's end."""
    if not settings.ONEC_NOTIFY_EMAILS or not import_session_deserves_alert(session=session):
        return None
    try:
        with transaction.atomic():  # a savepoint: the session ends even if its alert cannot be written
            subject, body = _session_mail(session)
            alert, _created = ImportAlert.objects.get_or_create(
                key=f"session-{session.pk}", defaults={"session": session, "subject": subject, "body": body}
            )
    except Exception:
        logger.exception("import session #%s ended, but its alert e-mail could not be recorded", session.pk)
        return None
    return alert


def nightly_import_check(*, import_type: str) -> ImportAlert | None:
    """Record one alert when `import_type` (the nightly import) has not completed for more
    than ONEC_NIGHTLY_MAX_AGE_HOURS: once for each last completed run, so an import that
    stays overdue is told about once, and again only after it completed and fell behind anew.

    Counted from its last completed session (a dry run does not count), or, if it never
    completed, from its first session; an import that never ran at all is not judged.
    """
    if not settings.ONEC_NOTIFY_EMAILS:
        return None
    sessions = ImportSession.objects.filter(import_type=import_type)
    last = (
        sessions.filter(status=Status.COMPLETED).exclude(report_details__dry_run=True)
        .order_by("-finished_at").first()
    )
    since = last.finished_at if last else sessions.order_by("created_at").values_list("created_at", flat=True).first()
    max_age = timedelta(hours=settings.ONEC_NIGHTLY_MAX_AGE_HOURS)
    if since is None or timezone.now() - since <= max_age:
        return None
    key = f"nightly-{import_type}-after-{last.pk if last else 'none'}"
    if told := ImportAlert.objects.filter(key=key).first():
        return told
    subject, body = _overdue_mail(import_type, last=last, since=since, latest=sessions.order_by("-created_at").first())
    alert, _created = ImportAlert.objects.get_or_create(
        key=key, defaults={"session": last, "subject": subject, "body": body}
    )
    return alert


def import_alerts_send(*, session_id: int | None = None) -> AlertsSent:
    """Mail the alerts not sent yet: one session's, or every one recorded within
    SEND_RETRY_WINDOW. Each is claimed before it is sent, so two steps sending at once, or
    a step run again, mail it once; one the mail server refused stays to be sent again."""
    alerts = ImportAlert.objects.filter(state__in=(State.DUE, State.FAILED))
    if session_id is not None:
        alerts = alerts.filter(key=f"session-{session_id}")
    else:
        alerts = alerts.filter(created_at__gte=timezone.now() - SEND_RETRY_WINDOW)
    sent, failures = 0, []
    for alert_id in alerts.order_by("created_at").values_list("id", flat=True):
        claimed = ImportAlert.objects.filter(pk=alert_id, state__in=(State.DUE, State.FAILED)).update(
            state=State.SENDING
        )
        if not claimed:  # another step took it
            continue
        if error := _send(ImportAlert.objects.get(pk=alert_id)):
            failures.append(error)
        else:
            sent += 1
    return AlertsSent(sent=sent, failures=failures)


def _send(alert: ImportAlert) -> str | None:
    """Mail one claimed alert; the reason it was not sent, or None."""
    recipients = settings.ONEC_NOTIFY_EMAILS
    error = None
    if not recipients:
        error = (
            f"alert {alert.key!r} was not sent: ONEC_NOTIFY_EMAILS is empty in this process; set it for the web "
            "server and every worker alike"
        )
    else:
        try:
            send_mail(alert.subject, alert.body, None, recipients, fail_silently=False)
        except Exception as exc:  # whatever the mail server did, the import goes on and the alert stays to be sent
            error = (
                f"alert {alert.key!r} was not sent to {', '.join(recipients)} through "
                f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {type(exc).__name__}: {exc}. Check EMAIL_HOST, "
                "EMAIL_PORT and the mail server; the next check-import-alerts run sends it again"
            )
    if error:
        logger.warning("%s", error)
        ImportAlert.objects.filter(pk=alert.pk).update(state=State.FAILED, error=error)
        return error
    ImportAlert.objects.filter(pk=alert.pk).update(state=State.SENT, sent_at=timezone.now(), error="")
    logger.info("alert %r sent to %s", alert.key, ", ".join(recipients))
    return None


def _session_url(session_id: int) -> str:
    path = reverse("admin:integrations_importsession_change", args=[session_id])
    return f"{settings.ONEC_SITE_URL.rstrip('/')}{path}" if settings.ONEC_SITE_URL else path


def _session_mail(session: ImportSession) -> tuple[str, str]:
    """The subject and body of a session's alert, in the site's language."""
    spec = import_type_spec(session.import_type)
    report = session.report
    errors, errors_total = import_session_error_details(session_id=session.pk, limit=MAIL_ERROR_LIMIT)
    with translation.override(settings.LANGUAGE_CODE):
        outcome = {
            Status.FAILED: _("failed"),
            Status.CANCELLED: _("was cancelled"),
            Status.COMPLETED: ngettext(
                "completed with %(count)s error", "completed with %(count)s errors", report.errors
            ) % {"count": report.errors},
        }[session.status]
        subject = _("1C import #%(id)s (%(type)s) %(outcome)s") % {
            "id": session.pk, "type": spec.label, "outcome": outcome,
        }
        lines = [
            subject,
            "",
            _("Type: %(type)s") % {"type": spec.label},
            _("Status: %(status)s") % {"status": session.get_status_display()},
            _("Started by: %(started_by)s") % {"started_by": session.get_started_by_display()},
            _("Started: %(started)s; finished: %(finished)s") % {
                "started": _local(session.started_at), "finished": _local(session.finished_at),
            },
            _("Reason: %(reason)s") % {"reason": session.error_message_text or "—"},
            "",
            _("Counters:"),
            *(f"  {counted(counter.label, report.count(counter.key)).translated()}" for counter in spec.counters),
        ]
        if errors:
            lines += [
                "",
                _("The first %(shown)s of %(total)s errors:") % {"shown": len(errors), "total": errors_total},
                *(
                    "  - " + "; ".join(part for part in (error.get("product"), error.get("file"), reason_text(error)) if part)
                    for error in errors
                ),
            ]
        lines += ["", _("Session page: %(url)s") % {"url": _session_url(session.pk)}]
    return subject[:255], "\n".join(lines) + "\n"


def _overdue_mail(
    import_type: str, *, last: ImportSession | None, since, latest: ImportSession | None
) -> tuple[str, str]:
    """The subject and body of an overdue-nightly alert, in the site's language."""
    spec = import_type_spec(import_type)
    hours = int((timezone.now() - since).total_seconds() // 3600)
    with translation.override(settings.LANGUAGE_CODE):
        subject = ngettext(
            "1C import: the nightly %(type)s import has not completed for %(hours)s hour",
            "1C import: the nightly %(type)s import has not completed for %(hours)s hours",
            hours,
        ) % {"type": spec.label, "hours": hours}
        lines = [
            subject,
            "",
            _("Allowed: %(max)s hours (ONEC_NIGHTLY_MAX_AGE_HOURS).") % {"max": f"{settings.ONEC_NIGHTLY_MAX_AGE_HOURS:g}"},
            _("Last completed: session #%(id)s, finished %(finished)s, %(url)s")
            % {"id": last.pk, "finished": _local(last.finished_at), "url": _session_url(last.pk)}
            if last else _("It has never completed."),
        ]
        if latest is not None and latest != last:
            lines.append(
                _("Latest session: #%(id)s, %(status)s: %(reason)s, %(url)s") % {
                    "id": latest.pk, "status": latest.get_status_display(),
                    "reason": latest.error_message or "—", "url": _session_url(latest.pk),
                }
            )
        lines += [
            "",
            _(
                "Check that the Prefect worker of the onec-imports pool runs and that the deployment's schedule "
                "is active (prefect.yaml; docs/operations.md)."
            ),
        ]
    return subject[:255], "\n".join(lines) + "\n"


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "—"

