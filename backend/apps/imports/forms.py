from django import forms
from django.utils.translation import gettext_lazy as _

from .import_types import import_type_choices


class ImportStartForm(forms.Form):
    """The admin's choice of import and, for the types that take them, its options."""

    import_type = forms.ChoiceField(
        choices=import_type_choices,
        error_messages={"required": _("Choose the import type.")},
    )
    validate_images = forms.BooleanField(required=False)
    dry_run = forms.BooleanField(required=False)
    mirror = forms.BooleanField(required=False)
    verify_storage = forms.BooleanField(required=False)
    rebuild_renditions = forms.BooleanField(required=False)
    shards = forms.IntegerField(
        required=False, min_value=1, max_value=32,
        error_messages={"min_value": _("At least 1 shard."), "max_value": _("At most 32 shards."),
                        "invalid": _("The number of shards is a whole number.")},
    )

    def clean_shards(self) -> int:
        return self.cleaned_data["shards"] or 1
