"""The product list's filter by the photo errors of an image import. The catalog app knows
nothing of import sessions, so this app adds the filter to the product admin (admin.py)."""
from __future__ import annotations

from functools import cached_property

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils.translation import gettext_lazy as _

from .selectors import import_session_error_products, import_session_last_images


class PhotoErrorsListFilter(admin.SimpleListFilter):
    """Products with a photo that failed in the last image import, or in one session (its
    page links here with the session's number)."""

    title = _("photo errors")
    parameter_name = "photo_errors"
    LAST = "last"

    @cached_property
    def last_session(self):
        return import_session_last_images()

    def lookups(self, request, model_admin):
        if self.last_session is None:
            choices = [(self.LAST, _("In the last image import (none has run)"))]
        else:
            choices = [(self.LAST, _("In the last image import (#%(number)s)") % {"number": self.last_session.pk})]
        if self.value() and self.value().isdigit():
            choices.append((self.value(), _("In image import #%(number)s") % {"number": self.value()}))
        return choices

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if self.value() == self.LAST:
            session_id = self.last_session and self.last_session.pk
        elif self.value().isdigit():
            session_id = int(self.value())
        else:
            raise IncorrectLookupParameters(f"photo_errors is {self.value()!r}: 'last' or an import session's number")
        if session_id is None:
            return queryset.none()
        return queryset.filter(onec_id__in=import_session_error_products(session_id=session_id))
