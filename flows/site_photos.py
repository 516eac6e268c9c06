"""Processing a photo an admin added on the site: decode it, make its renditions and mark
it ready, or refuse it with the reason (apps.products.services.site_photo_process). The
upload's web request asked for this run (apps.imports.services.site_photos); prefect.yaml
deploys it as `process-site-photo/site-photo` on the `onec-imports` pool."""
from __future__ import annotations

from django.db import connections
from django.utils.translation import gettext as _, gettext_noop
from prefect import flow, get_run_logger, task

from apps.i18n.messages import Message
from apps.products.services import site_photo_process, site_photo_refuse
from flows.common import RETRIED_STEP, closes_db_connections, failure_reason


@task(name="process-site-photo", task_run_name="process-site-photo-{photo_id}", **RETRIED_STEP)
@closes_db_connections
def process_site_photo_task(photo_id: int) -> dict:
    """Decode the photo, make its renditions, mark it ready or refused."""
    photo = site_photo_process(photo_id=photo_id)
    get_run_logger().info("%s", _("site photo #%(id)s: %(status)s %(reason)s") % {
        "id": photo_id, "status": photo.get_status_display(), "reason": photo.refusal_reason_text,
    })
    return {"status": photo.status, "reason": photo.refusal_reason}


def _refuse_unprocessed(flow, flow_run, state) -> None:
    """However the run ends, the photo must not show "processing" for ever."""
    connections.close_all()
    try:
        site_photo_refuse(
            photo_id=int(flow_run.parameters["photo_id"]),
            reason=Message(gettext_noop("processing failed: %(reason)s; remove the photo and upload it again"),
                           reason=failure_reason(state)),
        )
    finally:
        connections.close_all()


@flow(name="process-site-photo", on_failure=[_refuse_unprocessed], on_crashed=[_refuse_unprocessed],
      on_cancellation=[_refuse_unprocessed])
def process_site_photo(photo_id: int) -> dict:
    """Check a photo added on the site and make its web renditions."""
    return process_site_photo_task(photo_id)
