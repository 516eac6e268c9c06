"""The 1C import page of the admin (/admin/integrations/import_1c/)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext as _, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from apps.i18n.messages import error_message, message_of, message_text
from apps.products.exceptions import SitePhotoRefusedError
from apps.products.models import PRODUCT_COUNT, Product
from apps.products.selectors import product_active_count
from apps.products.services import site_photo_add

from .exceptions import ImportAlreadyRunningError, ImportNotStartedError
from .forms import ImportStartForm
from .import_types import import_type_specs
from .models import START_IMPORT_PERMISSION, ImportSession
from .options import SHARD_DEPLOYMENT, ImageImportOptions
from .prefect_api.pools import prefect_deployment_pool_workers
from .prefect_api.ui import flow_run_ui_url, prefect_ui_url
from .selectors import import_session_active, import_session_last_catalog
from .services.launch import import_session_launch
from .services.site_photos import site_photo_processing_request, site_photos_awaiting_run

@require_http_methods(["GET", "POST"])
def import_1c_view(request):
    """GET shows the choice (and what would stop it); POST starts the chosen import."""
    if not request.user.has_perm(START_IMPORT_PERMISSION):
        raise PermissionDenied
    shard_pool = prefect_deployment_pool_workers(deployment_name=SHARD_DEPLOYMENT)
    form = ImportStartForm(
        request.POST if request.method == "POST" else None,
        initial={"import_type": ImportSession.ImportType.IMAGES},
        shard_pool=shard_pool is not None,
    )
    problems = []
    if form.is_bound and form.is_valid():
        try:
            session = import_session_launch(
                import_type=form.cleaned_data["import_type"],
                user=request.user,
                options=ImageImportOptions.from_form(form.cleaned_data),
            )
        except ImportNotStartedError as exc:
            problems = [_problem_html(problem) for problem in exc.problems]
        else:
            messages.success(request, _started_message(session))
            can_watch = request.user.has_perm("integrations.view_importsession")
            return redirect(_session_admin_url() if can_watch else request.path)

    selected = form["import_type"].value()
    has_products = product_active_count() > 0
    active_session = import_session_active()
    context = {
        **admin.site.each_context(request),
        "title": gettext("Import from 1C"),
        "form": form,
        "problems": problems,
        "import_types": [
            {
                "spec": spec,
                "files": spec.files_in(settings.ONEC_DATA_DIR),
                "selected": spec.key == selected,
                "needs_catalog_warning": spec.needs_catalog and not has_products,
            }
            for spec in import_type_specs()
        ],
        "data_dir": settings.ONEC_DATA_DIR,
        "shard_pool": shard_pool,
        "last_catalog": _last_catalog_summary(),
        "active_session": active_session,
        "active_session_url": active_session and _session_admin_url(active_session),
        "prefect_ui_url": prefect_ui_url(),
    }
    return TemplateResponse(request, "admin/integrations/import_1c.html", context)


def _last_catalog_summary() -> dict | None:
    """What the last completed catalog import found ("48 products, 184 photos listed, from
    <dir>"), from its session's report: the page reads no exchange file."""
    session = import_session_last_catalog()
    if session is None:
        return None
    report = session.report
    products = report.count("created") + report.count("updated")
    found = [PRODUCT_COUNT % {"count": products}]
    if "pictures_listed" in report.details:  # sessions stored before it was counted have no such key
        photos = report.count("pictures_listed")
        found.append(ngettext("%(count)s photo listed", "%(count)s photos listed", photos) % {"count": photos})
    return {
        "session": session,
        "url": _session_admin_url(session),
        "text": _("%(found)s, from %(directory)s") % {
            "found": ", ".join(found), "directory": session.parameters.get("data_dir", "?"),
        },
    }


def _session_admin_url(session: ImportSession | None = None) -> str:
    """The session's page, or the session list, in ImportSessionAdmin."""
    if session is None:
        return reverse("admin:integrations_importsession_changelist")
    return reverse("admin:integrations_importsession_change", args=[session.pk])


def _problem_html(problem: Exception) -> str:
    if isinstance(problem, ImportAlreadyRunningError) and problem.active_session:
        session = problem.active_session
        return format_html(
            '{} <a href="{}">{}</a>', message_text(message_of(problem)), _session_admin_url(session),
            gettext("Open session #%(id)s") % {"id": session.pk},
        )
    return format_html("{}", message_text(message_of(problem)))


def _started_message(session: ImportSession) -> str:
    run_url = flow_run_ui_url(session.flow_run_id)
    if run_url:
        return format_html(
            '{} <a href="{}">{}</a>.',
            gettext("Import “%(type)s” started: session #%(id)s,") % {
                "type": session.get_import_type_display(), "id": session.pk
            },
            run_url,
            gettext("its run in Prefect"),
        )
    return gettext("Import “%(type)s” started: session #%(id)s.") % {
        "type": session.get_import_type_display(), "id": session.pk
    }


@require_POST
def site_photo_upload_view(request, product_id: int):
    """Photos an admin adds to a product on its page: each checked by its first bytes,
    stored and recorded as processing, then Prefect is asked for the run that processes it
    (also for earlier photos it could not be asked about: a POST without files asks again)."""
    product = get_object_or_404(Product, pk=product_id)
    if not request.user.has_perm(f"{Product._meta.app_label}.change_product"):
        raise PermissionDenied
    for upload in request.FILES.getlist("photos"):
        try:
            photo = site_photo_add(product_id=product.pk, data=upload.read(), filename=upload.name)
        except SitePhotoRefusedError as exc:
            messages.error(request, _("Photo not added: %(reason)s") % {"reason": message_text(message_of(exc))})
            continue
        messages.success(request, _("“%(file)s” added: it shows as “processing” until a Prefect run has checked it "
                                    "and made its web versions.") % {"file": photo})
    for photo_id in site_photos_awaiting_run(product_id=product.pk):
        try:
            site_photo_processing_request(photo_id=photo_id)
        except Exception as exc:  # Prefect down or not deployed: the photo waits, the admin can ask again
            messages.error(request, _(
                "The photo is stored, but Prefect could not be asked to process it (%(error)s): it stays "
                "“processing”. Start Prefect (./dev stack) and press “Ask Prefect again”."
            ) % {"error": message_text(error_message(exc))})
            break
    return redirect(reverse("admin:products_product_change", args=[product.pk]) + "#site-photos")
