"""The 1C exchange log in the admin: each exchange over HTTP with its user, client address,
times, the files it sent and the import sessions it started (refused logins: apps.access).
Read-only: the log is written by the exchange's services alone."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy as _, ngettext_lazy

from apps.i18n.messages import message_text

from .models import Exchange1C, ExchangeImport
from .services.messages import import_sessions, result_lines

FILES_SHOWN = 200


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class ExchangeImportInline(admin.TabularInline):
    model = ExchangeImport
    fk_name = "exchange"
    extra = 0
    can_delete = False
    fields = ("filename", "status", "import_sessions", "progress_text", "result", "flow_run_id", "created_at", "finished_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        """Each row names its sessions twice (the links, the result's counts): one query for all."""
        return super().get_queryset(request).prefetch_related("sessions")

    @admin.display(description=_("preparation progress"))
    def progress_text(self, record):
        return message_text(record.progress)

    @admin.display(description=_("result"))
    def result(self, record):
        """What 1C was told, in the site's language (as stored, for imports before the upgrade)."""
        return format_html_join("", "{}<br>", ((line,) for line in result_lines(record)))

    @admin.display(description=_("import sessions"))
    def import_sessions(self, record):
        return format_html_join(
            ", ", '<a href="{}">#{}</a> {}',
            (
                (reverse("admin:integrations_importsession_change", args=[s.pk]), s.pk, s.get_status_display())
                for s in import_sessions(record)
            ),
        ) or "—"


@admin.register(Exchange1C)
class Exchange1CAdmin(ReadOnlyAdmin):
    count_name = ngettext_lazy("%(count)s 1C exchange", "%(count)s 1C exchanges", "count")
    list_display = ("__str__", "user", "client_ip", "exchange_type", "created_at", "last_request_at", "closed_at",
                    "files_received", "imports_status")
    list_filter = ("exchange_type",)
    search_fields = ("user__username", "client_ip")
    fields = ("user", "client_ip", "exchange_type", "created_at", "last_request_at", "closed_at", "gave_way_at",
              "files_list")
    readonly_fields = fields
    inlines = [ExchangeImportInline]

    class Media:
        css = {"all": ["onec_exchange/exchange_log.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("imports").annotate(
            file_count=Count("files", distinct=True), file_bytes=Sum("files__size")
        )

    @admin.display(description=_("files received"))
    def files_received(self, exchange):
        return f"{exchange.file_count} · {filesizeformat(exchange.file_bytes or 0)}"

    @admin.display(description=_("imports"))
    def imports_status(self, exchange):
        return ", ".join(f"{item.filename}: {item.get_status_display()}" for item in exchange.imports.all()) or "—"

    @admin.display(description=_("files"))
    def files_list(self, exchange):
        files = exchange.files.order_by("id")
        shown = format_html_join(
            "", "<li>{} — {}{}</li>",
            ((f.name, filesizeformat(f.size), "" if f.placed_at else gettext(" (waiting for its import)")) for f in files[:FILES_SHOWN]),
        )
        total = files.count()
        more = format_html("<li>{}</li>", gettext("… and %(count)s more") % {"count": total - FILES_SHOWN}) if total > FILES_SHOWN else ""
        return format_html("<ul>{}{}</ul>", shown, more) if total else "—"
