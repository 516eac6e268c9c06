"""Refused logins in the admin, read-only: they are written by the lock-out alone."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import LoginFailure


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ("created_at", "entry", "client_ip", "username", "reason_shown")
    # The stored English `reason` is the logs'; a person reads it in the site's language.
    fields = readonly_fields = list_display
    list_filter = ("entry",)
    search_fields = ("client_ip", "username")

    def has_add_permission(self, request, obj=None):
        return False

    has_change_permission = has_add_permission  # nobody edits the record of a refusal

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(description=_("reason"))
    def reason_shown(self, failure):
        """In the site's language (as stored, for refusals recorded before)."""
        return failure.reason_text
