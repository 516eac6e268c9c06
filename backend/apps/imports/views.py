"""The 1C import page of the admin (/admin/integrations/import_1c/)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from apps.i18n.messages import message_of, message_text
from apps.products.selectors import product_active_count

from .exceptions import ImportAlreadyRunningError, ImportNotStartedError
from .forms import ImportStartForm
from .import_types import import_type_specs
from .models import START_IMPORT_PERMISSION, ImportSession
from .options import ImageImportOptions
from .prefect_api.ui import flow_run_ui_url, prefect_ui_url
from .selectors import import_session_active
from .services.launch import import_session_launch

@require_http_methods(["GET", "POST"])
def import_1c_view(request):
    """GET shows the choice (and what would stop it); POST starts the chosen import."""
    if not request.user.has_perm(START_IMPORT_PERMISSION):
        raise PermissionDenied
    form = ImportStartForm(
        request.POST if request.method == "POST" else None, initial={"import_type": ImportSession.ImportType.IMAGES}
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
        "active_session": active_session,
        "active_session_url": active_session and _session_admin_url(active_session),
        "prefect_ui_url": prefect_ui_url(),
    }
    return TemplateResponse(request, "admin/integrations/import_1c.html", context)


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
