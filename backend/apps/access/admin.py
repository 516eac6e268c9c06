"""Refused logins in the admin, read-only: they are written by the lock-out alone. And the
users and groups pages: Django's, with the permissions said in the site's language."""
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin, UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy as _, gettext_noop, ngettext_lazy

from .models import LoginFailure

# What Django's default permissions let one do, by their codename's first word; the label
# names the model already (`Товары | товар | добавление`).
DEFAULT_PERMISSION_ACTIONS = {
    "add": gettext_noop("can add"),
    "change": gettext_noop("can change"),
    "delete": gettext_noop("can delete"),
    "view": gettext_noop("can view"),
}


def permission_label(permission: Permission) -> str:
    """`Товары | товар | добавление`: a permission as Django labels it (app, model, name), in the
    site's language. Django stores its default permissions' names in English ("Can add
    product"): they are said from the codename's action; a model's own permissions by the name
    its Meta.permissions gives (stored in whatever language `migrate` ran in). Codenames and
    stored names stay as they are."""
    model = permission.content_type.model_class()
    if model is None:  # a model gone from the code: its name as stored
        return f"{permission.content_type} | {gettext(permission.name)}"
    action, _underscore, model_name = permission.codename.partition("_")
    if model_name == model._meta.model_name and action in model._meta.default_permissions:
        name = gettext(DEFAULT_PERMISSION_ACTIONS[action])
    else:
        declared = dict(model._meta.permissions).get(permission.codename)
        name = str(declared) if declared is not None else gettext(permission.name)
    return f"{permission.content_type} | {name}"


class PermissionsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return permission_label(obj)


class PermissionsInTheSitesLanguage:
    """The permissions of the user and group pages in the site's language: in the selector,
    and listed on the page of one who may only view it."""

    permissions_field: str  # the page's many-to-many field of permissions

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.related_model is Permission:
            kwargs["form_class"] = PermissionsField
            kwargs.setdefault("queryset", Permission.objects.select_related("content_type"))
        return super().formfield_for_manytomany(db_field, request=request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        shown = {self.permissions_field: "permissions_shown"}
        return [
            (name, {**options, "fields": [shown.get(field, field) for field in options["fields"]]})
            for name, options in fieldsets
        ]

    @admin.display(description=_("permissions"))
    def permissions_shown(self, obj):
        permissions = getattr(obj, self.permissions_field).select_related("content_type")
        return format_html_join(mark_safe("<br>"), "{}", ((permission_label(p),) for p in permissions))


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(PermissionsInTheSitesLanguage, DjangoUserAdmin):
    permissions_field = "user_permissions"
    count_name = ngettext_lazy("%(count)s user", "%(count)s users", "count")


@admin.register(Group)
class GroupAdmin(PermissionsInTheSitesLanguage, DjangoGroupAdmin):
    permissions_field = "permissions"
    count_name = ngettext_lazy("%(count)s group", "%(count)s groups", "count")


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    count_name = ngettext_lazy("%(count)s refused login", "%(count)s refused logins", "count")
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
