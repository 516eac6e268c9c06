"""ExchangeImport.message and .progress become JSON (services.messages: Messages kept to be
answered in the site's language). Added beside the text columns and filled from them, so
the step works on PostgreSQL and SQLite alike: an import stored before keeps its text."""

from django.db import migrations, models

from apps.i18n.messages import Message, is_stored_message


def _copy_texts(apps, schema_editor):
    ExchangeImport = apps.get_model("onec_exchange", "ExchangeImport")
    for record in ExchangeImport.objects.exclude(message="", progress="").only("message", "progress").iterator():
        ExchangeImport.objects.filter(pk=record.pk).update(
            message_json=record.message or [], progress_json=record.progress or None
        )


def _english(value) -> str:
    """A stored message's English text; a text stored before, as it is."""
    return str(Message.from_json(value)) if is_stored_message(value) else str(value)


def _copy_back(apps, schema_editor):
    ExchangeImport = apps.get_model("onec_exchange", "ExchangeImport")
    for record in ExchangeImport.objects.only("message_json", "progress_json").iterator():
        message, progress = record.message_json, record.progress_json
        ExchangeImport.objects.filter(pk=record.pk).update(
            message=message if isinstance(message, str) else "\n".join(map(_english, message or [])),
            progress=_english(progress) if progress else "",
        )


class Migration(migrations.Migration):

    dependencies = [
        ("onec_exchange", "0005_exchange_moving_files"),
    ]

    operations = [
        migrations.AddField(
            model_name="exchangeimport", name="message_json", field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="exchangeimport", name="progress_json", field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(_copy_texts, _copy_back),
    ]
