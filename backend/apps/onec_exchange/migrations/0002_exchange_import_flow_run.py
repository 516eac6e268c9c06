"""The exchange's work moves out of the web process into a Prefect flow run: each
`import` records its preparation run and what it is doing; an exchange records which run
lays its files out. Fields are only added."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("onec_exchange", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="exchange1c",
            name="busy_by",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="exchangeimport",
            name="flow_run_id",
            field=models.UUIDField(blank=True, null=True, verbose_name="запуск подготовки в Prefect"),
        ),
        migrations.AddField(
            model_name="exchangeimport",
            name="progress",
            field=models.TextField(blank=True, verbose_name="ход подготовки"),
        ),
    ]
