from django import forms
from django.utils.translation import gettext_lazy as _

from .import_types import import_type_choices


def _option(label, help_text) -> forms.BooleanField:
    """An on/off option of the image import."""
    return forms.BooleanField(required=False, label=label, help_text=help_text)


class ImportStartForm(forms.Form):
    """The admin's choice of import and, for the types that take them, its options: each
    with a short label and a one-line help text (the page shows them one per line)."""

    import_type = forms.ChoiceField(
        choices=import_type_choices,
        error_messages={"required": _("Choose the import type.")},
    )
    validate_images = _option(_("Check photos"), _("Decode every photo with Pillow before storing it; slower."))
    dry_run = _option(
        _("Dry run"), _("Only report what would be copied, replaced, added or is missing; nothing changes.")
    )
    mirror = _option(
        _("Mirror 1C's list"),
        _("Make each product's photos exactly 1C's <Картинка> list; by default photos are only added."),
    )
    verify_storage = _option(
        _("Verify storage"),
        _("Check every recorded photo in media storage and upload again what is missing or differs."),
    )
    rebuild_renditions = _option(
        _("Rebuild web versions"),
        _("Make the WebP/JPEG versions of every photo again, e.g. after changing ONEC_IMAGE_RENDITIONS."),
    )
    shards = forms.IntegerField(
        required=False, min_value=1, max_value=32, initial=1, label=_("Shards"),
        help_text=_("Spread the import over this many runs on the shard pool's workers; 1: one process."),
        widget=forms.NumberInput(attrs={"class": "vSmallIntegerField"}),
        error_messages={"min_value": _("At least 1 shard."), "max_value": _("At most 32 shards."),
                        "invalid": _("The number of shards is a whole number.")},
    )

    def __init__(self, *args, shard_pool: bool = True, **kwargs):
        """Without a shard pool (the shard deployment's, on the Prefect server) the form has
        no shards field: every image import runs in one process."""
        super().__init__(*args, **kwargs)
        if not shard_pool:
            del self.fields["shards"]

    def clean_shards(self) -> int:
        return self.cleaned_data["shards"] or 1

    def image_option_fields(self):
        """The image import's options, in the page's order."""
        return [self[name] for name in ("validate_images", "dry_run", "mirror", "verify_storage", "rebuild_renditions",
                                        "shards") if name in self.fields]
