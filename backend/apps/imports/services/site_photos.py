"""Asking Prefect to process a photo an admin added on the site: the upload stores the
bytes and records the photo (apps.products.services.site_photo_add); a run of
`process-site-photo/site-photo` (flows/site_photos.py) decodes it, makes its renditions
and marks it ready or refused. The web request only asks for that run."""
from __future__ import annotations

import logging
import uuid

from apps.products.models import SitePhoto

from ..prefect_api.runs import prefect_deployment_id, prefect_deployment_run_create

logger = logging.getLogger(__name__)

SITE_PHOTO_DEPLOYMENT = "process-site-photo/site-photo"


def site_photos_awaiting_run(*, product_id: int) -> list[int]:
    """The product's processing photos that Prefect was not yet asked to process."""
    return list(
        SitePhoto.objects.filter(
            product_id=product_id, status=SitePhoto.Status.PROCESSING, processing_run_id__isnull=True
        ).order_by("position", "id").values_list("pk", flat=True)
    )


def site_photo_processing_request(*, photo_id: int) -> uuid.UUID:
    """Ask Prefect for the run that processes the photo and record its id. Asking again for
    the same photo returns the same run (the idempotency key), never a second one.
    PrefectUnavailableError (and the client's errors) when Prefect cannot be asked."""
    flow_run_id = prefect_deployment_run_create(
        deployment_id=prefect_deployment_id(name=SITE_PHOTO_DEPLOYMENT),
        parameters={"photo_id": photo_id},
        idempotency_key=f"site-photo-{photo_id}",
    )
    SitePhoto.objects.filter(pk=photo_id).update(processing_run_id=flow_run_id)
    logger.info("site photo %s: Prefect flow run %s", photo_id, flow_run_id)
    return flow_run_id
