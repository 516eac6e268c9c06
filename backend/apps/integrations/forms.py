from django import forms

from .import_types import IMPORT_TYPES, IMPORT_TYPES_BY_VALUE


class ImportStartForm(forms.Form):
    """The admin's choice of import; only types whose flow exists may be started."""

    import_type = forms.ChoiceField(
        choices=[(info.import_type, info.label) for info in IMPORT_TYPES],
        error_messages={"required": "Выберите тип импорта."},
    )
    validate_images = forms.BooleanField(required=False)
    dry_run = forms.BooleanField(required=False)
    mirror = forms.BooleanField(required=False)

    IMAGE_OPTIONS = ("validate_images", "dry_run", "mirror")

    def __init__(self, *args, available_types: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.available_types = available_types

    def clean_import_type(self) -> str:
        import_type = self.cleaned_data["import_type"]
        if import_type not in self.available_types:
            raise forms.ValidationError(
                f"Импорт «{IMPORT_TYPES_BY_VALUE[import_type].label}» ещё не реализован: "
                "в flows/registry.py нет его flow, запустить его нельзя."
            )
        return import_type
