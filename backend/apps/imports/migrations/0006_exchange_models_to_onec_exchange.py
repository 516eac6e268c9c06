"""The 1C exchange's models now belong to the onec_exchange app (same tables); the
`exchange_1c` permission is declared on ImportSession so its name stays
`integrations.exchange_1c`."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0005_exchange_file_from_archive"),
        ("onec_exchange", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="ExchangeImport"),
                migrations.DeleteModel(name="ExchangeFile"),
                migrations.DeleteModel(name="ExchangeAuthFailure"),
                migrations.DeleteModel(name="Exchange1C"),
            ],
        ),
        migrations.AlterModelOptions(
            name="importsession",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("start_import", "Может запускать импорт из 1С"),
                    ("exchange_1c", "Может выполнять обмен с сайтом из 1С (/1c/exchange)"),
                ],
                "verbose_name": "сессия импорта",
                "verbose_name_plural": "сессии импорта",
            },
        ),
    ]
