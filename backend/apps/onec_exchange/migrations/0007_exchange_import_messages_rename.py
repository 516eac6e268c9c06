"""The JSON columns 0006 filled take the text columns' names (a migration of its own: the
copy's transaction has ended before the table changes)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("onec_exchange", "0006_exchange_import_messages"),
    ]

    operations = [
        migrations.RemoveField(model_name="exchangeimport", name="message"),
        migrations.RemoveField(model_name="exchangeimport", name="progress"),
        migrations.RenameField(model_name="exchangeimport", old_name="message_json", new_name="message"),
        migrations.RenameField(model_name="exchangeimport", old_name="progress_json", new_name="progress"),
        migrations.AlterField(
            model_name="exchangeimport", name="message",
            field=models.JSONField(blank=True, default=list, verbose_name="result"),
        ),
        migrations.AlterField(
            model_name="exchangeimport", name="progress",
            field=models.JSONField(blank=True, null=True, verbose_name="preparation progress"),
        ),
    ]
