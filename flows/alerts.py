"""The scheduled alert check (prefect.yaml: `check-import-alerts/alerts`): tell
ONEC_NOTIFY_EMAILS once when the nightly import is overdue, and mail the alerts no run's end
could send (a session cancelled or settled from the admin, a mail server that was down)."""
from __future__ import annotations

from django.utils.translation import gettext, ngettext
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from apps.imports.services.alerts import import_alerts_send, nightly_import_check
from flows.common import closes_db_connections

# A mail server that flaps gets two more tries within a few minutes; one that stays down
# fails the check's run (visible in Prefect), and the next run tries again.
SEND_RETRY_DELAYS_SECONDS = [30, 120]


class AlertsNotSentError(Exception):
    """Some alerts could not be mailed; they stay due for the next attempt."""


@task(name="check-nightly-import", cache_policy=NO_CACHE)
@closes_db_connections
def check_nightly_import(import_type: str) -> bool:
    """Record an alert if the nightly import is overdue; True if it is."""
    alert = nightly_import_check(import_type=import_type)
    if alert is not None:
        get_run_logger().warning("%s", alert.subject)
    return alert is not None


@task(
    name="send-due-alerts",
    retries=len(SEND_RETRY_DELAYS_SECONDS),
    retry_delay_seconds=SEND_RETRY_DELAYS_SECONDS,
    cache_policy=NO_CACHE,
)
@closes_db_connections
def send_due_alerts() -> int:
    """Mail every alert not sent yet; fails (and is retried) while the mail server refuses."""
    result = import_alerts_send()
    if result.failures:
        raise AlertsNotSentError(gettext("alerts not sent — %(failed)s, sent — %(sent)s; the first: %(first)s") % {
            "failed": len(result.failures), "sent": result.sent, "first": result.failures[0],
        })
    get_run_logger().info("%s", ngettext("%(count)s alert sent", "%(count)s alerts sent", result.sent) % {"count": result.sent})
    return result.sent


@flow(name="check-import-alerts")
def check_import_alerts(nightly_import_type: str = "images") -> int:
    """Tell ONEC_NOTIFY_EMAILS when the nightly import is overdue, and send the alerts not sent yet."""
    check_nightly_import(nightly_import_type)
    return send_due_alerts()
