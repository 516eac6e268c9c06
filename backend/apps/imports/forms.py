from django import forms

from .import_types import import_type_choices


class ImportStartForm(forms.Form):
    """The admin's choice of import and, for the types that take them, its options."""

    import_type = forms.ChoiceField(
        choices=import_type_choices,
        error_messages={"required": "Выберите тип импорта."},
    )
    validate_images = forms.BooleanField(required=False)
    dry_run = forms.BooleanField(required=False)
    mirror = forms.BooleanField(required=False)
    verify_storage = forms.BooleanField(required=False)
    rebuild_renditions = forms.BooleanField(required=False)
    shards = forms.IntegerField(
        required=False, min_value=1, max_value=32,
        error_messages={"min_value": "Шардов не меньше 1.", "max_value": "Шардов не больше 32.",
                        "invalid": "Число шардов — целое число."},
    )

    def clean_shards(self) -> int:
        return self.cleaned_data["shards"] or 1
