"""Counts of a model's objects in the admin, right in both languages: «1 товар», «3 товара»,
«5 товаров». Django's admin puts a number before the model's one plural name
(`verbose_name_plural`), which in Russian is right only for some numbers («3 товары»). Each
of the project's ModelAdmins names its objects with one ngettext:

    count_name = ngettext_lazy("%(count)s product", "%(count)s products", "count")

and every count the admin shows goes through `admin_count`: the change list's count and total
and "select all" (admin/pagination.html, search_form.html and actions.html in
config/templates, the template filter `admin_count` of the library `admin_counts`), and the
delete action's confirmation and message (`delete_selected`, the site's action)."""
from __future__ import annotations

from django import template
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext, gettext_noop

register = template.Library()

# Django's sentences around the deleted objects' count («Вы уверены, что хотите удалить
# выбранные 1 товар?»): the project's catalogue, read before Django's, says them in a form
# any count fits («Удалить выбранное: 1 товар?»); marked so that `makemessages` keeps them.
DELETE_SENTENCES_WITH_A_COUNT = (
    gettext_noop(
        "Are you sure you want to delete the selected %(objects_name)s? All of the following objects and their "
        "related items will be deleted:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would result in deleting related objects, but your account doesn't "
        "have permission to delete the following types of objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would require deleting the following protected related objects:"
    ),
)


@register.filter
def admin_count(model_admin: admin.ModelAdmin, count: int) -> str:
    """`3 товара`: the count with the admin's `count_name`; an admin that names none (another
    app's) as Django says it."""
    name = getattr(model_admin, "count_name", None)
    if name is None:
        opts = model_admin.opts
        return f"{count} {opts.verbose_name if count == 1 else opts.verbose_name_plural}"
    return name % {"count": count}


@admin.action(permissions=["delete"], description=django_delete_selected.short_description)
def delete_selected(modeladmin, request, queryset):
    """Django's delete action, its counts through `admin_count`: the deletion and its message
    here, the confirmation page Django's with the count said this way."""
    if request.POST.get("post"):
        _, _, perms_needed, protected = modeladmin.get_deleted_objects(queryset, request)
        if not protected:
            if perms_needed:
                raise PermissionDenied
            count = len(queryset)
            if count:
                modeladmin.log_deletions(request, queryset)
                modeladmin.delete_queryset(request, queryset)
                modeladmin.message_user(
                    request, gettext("Successfully deleted %(objects)s.") % {"objects": admin_count(modeladmin, count)},
                    messages.SUCCESS,
                )
            return None
    response = django_delete_selected(modeladmin, request, queryset)
    response.context_data["objects_name"] = admin_count(modeladmin, queryset.count())
    return response
