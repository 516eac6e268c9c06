"""ImportSession in the admin: a read-only list that updates itself while imports run, a
detail page with the per-file errors, and cancel."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy as _, gettext_noop, ngettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apps.i18n.messages import Message, message_of, message_text
from apps.products.admin import ProductAdmin
from apps.products.admin_filters import PhotoListFilter
from apps.products.models import Product

from .admin_filters import PhotoErrorsListFilter
from .exceptions import ImportNotActiveError, PrefectUnavailableError
from .forms import ImportStartForm
from .import_types import RUN_ENTRIES, RUN_PARAMETERS, import_type_spec
from .models import START_IMPORT_PERMISSION, ImportSession
from .reports import entry_text, reason_text
from .prefect_api.ui import flow_run_ui_url
from .selectors import import_session_error_details
from .services.cancellation import import_run_cancel
from .services.reconcile import import_sessions_reconcile

# The product list filters by an image import's photo errors too (admin_filters.py).
_product_admin: ProductAdmin = admin.site.get_model_admin(Product)
_product_admin.list_filter = [*_product_admin.list_filter, PhotoErrorsListFilter]

POLL_INTERVAL_MS = 2000
ERROR_DETAILS_LIMIT = 100
# Sessions a page may ask about by id in one poll (the rows it shows as active).
POLL_IDS_LIMIT = 200


# Outcomes that are not a status of their own; the badge names them.
OUTCOME_LABELS = {ImportSession.Outcome.COMPLETED_WITH_ERRORS: _("Completed with errors")}
PREFECT_UI_HINT = _("Set PREFECT_UI_URL or PREFECT_API_URL to open the run in Prefect")


def _datetime_text(value) -> str:
    return date_format(timezone.template_localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def _duration_text(session: ImportSession) -> str:
    if not session.started_at:
        return "—"
    seconds = int(((session.finished_at or timezone.now()) - session.started_at).total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return gettext("%(minutes)d min %(seconds)02d s") % {"minutes": minutes, "seconds": seconds}
    return gettext("%(seconds)d s") % {"seconds": seconds}


def _parameter_rows(parameters: dict) -> list[tuple[str, object]]:
    """A session's parameters as its page names them, the image options one per row."""
    labels = {**RUN_PARAMETERS, **{name: field.label for name, field in ImportStartForm.base_fields.items()}}
    rows = []
    for name, value in parameters.items():
        if name == "options" and isinstance(value, dict):
            rows += _parameter_rows(value)
        else:
            rows.append((labels.get(name, name), "—" if value is None else entry_text(value)))
    return rows


def _started_by_text(session: ImportSession) -> str:
    if session.started_by_user_id:
        return session.started_by_user.get_username()
    return session.get_started_by_display()


def _percent(session: ImportSession) -> int | None:
    """Processed of total in percent; a completed run without a total is done."""
    percent = session.report.percent
    if percent is None and session.status == ImportSession.Status.COMPLETED:
        return 100
    return percent


def _progress_text(session: ImportSession) -> str:
    report, percent = session.report, _percent(session)
    if percent is None:
        return gettext("waiting for the count") if session.is_active else "—"
    values = {"processed": report.processed, "total": report.total or 0, "percent": percent}
    if report.unit == "products":
        return gettext("%(processed)s / %(total)s products · %(percent)s%%") % values
    return gettext("%(processed)s / %(total)s files · %(percent)s%%") % values


def session_live_state(session: ImportSession) -> dict:
    """What the list and detail pages show of a session, as the JSON endpoint sends it:
    every text is formatted here, so the script only copies values into the page."""
    report = session.report
    counters = {counter.key: report.count(counter.key) for counter in import_type_spec(session.import_type).counters}
    return {
        "id": session.pk,
        "import_type": session.import_type,
        "status": session.status,
        "outcome": session.outcome,
        "is_active": session.is_active,
        "processed": report.processed,
        "total": report.total,
        "percent": _percent(session),
        "counters": counters,
        "error_message": session.error_message_text,
        "prefect_url": flow_run_ui_url(session.flow_run_id),
        "started_at": session.started_at.isoformat() if session.started_at else None,
        "finished_at": session.finished_at.isoformat() if session.finished_at else None,
        "text": {
            "status": str(OUTCOME_LABELS.get(session.outcome) or session.get_status_display()),
            "progress": _progress_text(session),
            **{key: str(value) for key, value in counters.items()},
            "started": _datetime_text(session.started_at),
            "finished": _datetime_text(session.finished_at),
            "duration": _duration_text(session),
            "error_message": session.error_message_text,
            "prefect": gettext("run %(id)s") % {"id": str(session.flow_run_id)[:8]} if session.flow_run_id else "—",
        },
    }


def _state(session: ImportSession) -> dict:
    """The live state, computed once per row although several columns show it."""
    if getattr(session, "_live_state", None) is None:
        session._live_state = session_live_state(session)
    return session._live_state


def status_badge_html(session: ImportSession):
    state = _state(session)
    return format_html(
        '<span class="import-status import-status--{}" data-import-session="{}" data-field="status" '
        'data-status="{}">{}</span>',
        state["outcome"], state["id"], state["status"], state["text"]["status"],
    )


def progress_bar_html(session: ImportSession):
    state = _state(session)
    percent = state["percent"]
    return format_html(
        '<div class="import-progress{}" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        'aria-valuenow="{}" data-import-session="{}" data-field="progress" '
        'title="{}">'
        '<div class="import-progress__bar" style="width: {}%"></div>'
        '<span class="import-progress__label">{}</span></div>',
        "" if percent is not None else " import-progress--unknown",
        percent or 0, state["id"], gettext("Progress counts products or files: processed / total"),
        percent or 0, state["text"]["progress"],
    )


def live_text_html(session: ImportSession, field: str):
    state = _state(session)
    return format_html(
        '<span data-import-session="{}" data-field="{}">{}</span>', state["id"], field, state["text"][field]
    )


@admin.register(ImportSession)
class ImportSessionAdmin(admin.ModelAdmin):
    """Read-only: sessions change only through the import flows and services.sessions."""

    count_name = ngettext_lazy("%(count)s import session", "%(count)s import sessions", "count")

    list_display = [
        "session_number",
        "status_badge",
        "progress",
        "result",
        "started",
        "prefect_run",
    ]
    list_filter = ["import_type", "status"]
    ordering = ["-created_at", "-id"]
    list_select_related = ["started_by_user"]
    list_per_page = 50
    actions = ["cancel_selected"]

    class Media:
        css = {"all": ["integrations/import_session_monitor.css"]}
        js = ["integrations/import_session_monitor.js"]

    # --- permissions: sessions are read-only; cancelling needs the permission that starts
    # imports ---

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request, obj=None):
        return request.user.is_staff and request.user.has_perm(START_IMPORT_PERMISSION)

    # --- list columns ---

    @admin.display(description=_("Session · type"), ordering="id")
    def session_number(self, session):
        return format_html('#{}<br><span class="import-type">{}</span>', session.pk, session.get_import_type_display())

    @admin.display(description=_("Status"), ordering="status")
    def status_badge(self, session):
        return status_badge_html(session)

    @admin.display(description=_("Progress"))
    def progress(self, session):
        return progress_bar_html(session)

    @admin.display(description=_("Result"))
    def result(self, session):
        """The type's summary counters; each number's tooltip says what it counts."""
        state = _state(session)
        spec = import_type_spec(session.import_type)
        return format_html(
            '<span class="import-result">{}</span>',
            format_html_join(
                " / ",
                '<span class="import-result__{}" title="{}" data-import-session="{}" data-field="{}">{}</span>',
                (
                    (key, spec.counter(key).label, state["id"], key, state["text"][key])
                    for key in spec.summary_counters
                ),
            ),
        )

    @admin.display(description=_("Started · lasts · by"), ordering="started_at")
    def started(self, session):
        """Start, duration and who started it in one narrow column: the list must fit a
        laptop screen; the end time is on the session's page."""
        return format_html(
            '{}<br><span class="import-quiet">{} · {}</span>',
            live_text_html(session, "started"), live_text_html(session, "duration"), _started_by_text(session),
        )

    @admin.display(description="Prefect")
    def prefect_run(self, session):
        state = _state(session)
        if state["prefect_url"]:
            link = format_html(
                '<a href="{}" target="_blank" rel="noopener">{}</a>', state["prefect_url"], state["text"]["prefect"]
            )
        else:
            link = state["text"]["prefect"]
        return format_html(
            '<span data-import-session="{}" data-field="prefect" title="{}">{}</span>',
            state["id"], "" if state["prefect_url"] or not session.flow_run_id else PREFECT_UI_HINT, link,
        )

    def changelist_view(self, request, extra_context=None):
        import_sessions_reconcile()  # a run Prefect ended without our code must not show as running
        extra_context = {**(extra_context or {}), **self._monitor_context()}
        return super().changelist_view(request, extra_context)

    # --- detail page ---

    def change_view(self, request, object_id, form_url="", extra_context=None):
        import_sessions_reconcile()
        session = self.get_object(request, object_id)
        # Django's "View %s" + verbose name reads "Просмотреть сессия импорта" in Russian (the
        # wrong case): the page has a title of its own, translated whole.
        extra_context = {"title": _("View import session"), **(extra_context or {})}
        if session is not None:
            errors, errors_total = import_session_error_details(session_id=session.pk, limit=ERROR_DETAILS_LIMIT)
            state = _state(session)
            spec = import_type_spec(session.import_type)
            labelled = spec.counters
            extra_context.update(
                self._monitor_context(),
                session=session,
                live=state,
                status_badge=status_badge_html(session),
                progress_bar=progress_bar_html(session),
                counters=[(counter, live_text_html(session, counter.key)) for counter in labelled],
                other_counters=[
                    (RUN_ENTRIES.get(key), key, entry_text(value))
                    for key, value in (session.report_details or {}).items()
                    if key not in {counter.key for counter in labelled} | {"last_updated"}
                ],
                started_by_text=_started_by_text(session),
                parameters=_parameter_rows(session.parameters or {}),
                prefect_url=flow_run_ui_url(session.flow_run_id),
                errors_heading=_("Errors per file") if spec.error_unit == "files" else _("Errors per exchange record"),
                record_heading=_("Product (1C GUID)") if spec.error_unit == "files" else _("Record (1C Ид)"),
                file_errors=[{**error, "reason": reason_text(error)} for error in errors],
                file_errors_total=errors_total,
                file_errors_rest=errors_total - len(errors),
                can_cancel=session.is_active and self.has_cancel_permission(request, session),
                alerts=session.alerts.filter(key=f"session-{session.pk}"),
                product_links=self._product_links(request, session, errors_total),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _product_links(self, request, session: ImportSession, errors_total: int) -> list[tuple[str, str]]:
        """An image import's page leads to the products that still lack photos and to
        those whose photos failed in it (the product list's filters)."""
        if session.import_type != ImportSession.ImportType.IMAGES or not _product_admin.has_view_permission(request):
            return []
        products = reverse(f"{self.admin_site.name}:products_product_changelist")
        links = [(f"{products}?{PhotoListFilter.parameter_name}={PhotoListFilter.NONE}", _("Products without photos"))]
        if errors_total:
            links.append((
                f"{products}?{PhotoErrorsListFilter.parameter_name}={session.pk}",
                _("Products with photo errors in this import"),
            ))
        return links

    def _monitor_context(self) -> dict:
        return {
            "monitor_url": reverse(f"{self.admin_site.name}:integrations_importsession_active"),
            "poll_interval_ms": POLL_INTERVAL_MS,
        }

    # --- live updates and cancel ---

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("active/", wrap(require_GET(self.active_sessions_view)), name="integrations_importsession_active"),
            path(
                "<int:session_id>/cancel/", wrap(require_POST(self.cancel_view)), name="integrations_importsession_cancel"
            ),
            *super().get_urls(),
        ]

    @staticmethod
    def _ids_from(request) -> list[int]:
        return [int(value) for value in request.GET.getlist("id")[:POLL_IDS_LIMIT] if value.isdigit()]

    def active_sessions_view(self, request):
        """JSON for the polling script: every active session, plus the sessions the page
        still shows as active (`?id=`), so a row that just ended gets its final state."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        sessions = (
            ImportSession.objects.filter(status__in=ImportSession.ACTIVE_STATUSES)
            | ImportSession.objects.filter(pk__in=self._ids_from(request))
        ).select_related("started_by_user").order_by("-created_at", "-id")
        states = [session_live_state(session) for session in sessions]
        return JsonResponse({
            "sessions": states,
            "active": any(state["is_active"] for state in states),
            "poll_interval_ms": POLL_INTERVAL_MS,
        })

    def cancel_view(self, request, session_id):
        session = get_object_or_404(ImportSession, pk=session_id)
        if not self.has_cancel_permission(request, session):
            raise PermissionDenied
        self._cancel(request, session)
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:integrations_importsession_change", args=[session.pk])
        )

    @admin.action(description=_("Cancel the selected active imports"), permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        active = list(queryset.filter(status__in=ImportSession.ACTIVE_STATUSES))
        if not active:
            self.message_user(request, gettext("None of the selected imports is active: nothing to cancel."), messages.WARNING)
        for session in active:
            self._cancel(request, session)

    def _cancel(self, request, session: ImportSession) -> None:
        try:
            session = import_run_cancel(session_id=session.pk, cancelled_by=Message(
                gettext_noop("%(user)s in the admin"), user=request.user.get_username()
            ))
        except (ImportNotActiveError, PrefectUnavailableError) as exc:
            self.message_user(
                request,
                gettext("Session #%(id)s was not cancelled: %(reason)s") % {"id": session.pk, "reason": message_text(message_of(exc))},
                messages.ERROR,
            )
            return
        if session.status == ImportSession.Status.CANCELLED:
            self.message_user(
                request,
                gettext("Session #%(id)s cancelled: %(message)s") % {"id": session.pk, "message": session.error_message_text},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                gettext("Session #%(id)s ended before it could be cancelled: %(status)s")
                % {"id": session.pk, "status": session.get_status_display()},
                messages.WARNING,
            )
