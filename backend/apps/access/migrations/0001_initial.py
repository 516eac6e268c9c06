"""The 1C exchange's refused logins move here (same table: only Django's state moves, so
every row is kept) and say at which entry point they were made, as the admin's login now
shares the lock-out. The content type moves with the model, carrying the permissions
groups and users have on it."""
from django.db import migrations, models

OLD = ("onec_exchange", "exchangeauthfailure")
NEW = ("access", "loginfailure")


def _move_content_type(apps, source: tuple[str, str], target: tuple[str, str]) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    if ContentType.objects.filter(app_label=target[0], model=target[1]).exists():
        return
    content_type = ContentType.objects.filter(app_label=source[0], model=source[1]).first()
    if content_type is None:
        return  # a fresh database: post_migrate makes the content type
    content_type.app_label, content_type.model = target
    content_type.save(update_fields=["app_label", "model"])
    for permission in Permission.objects.filter(content_type=content_type, codename__endswith=f"_{source[1]}"):
        permission.codename = permission.codename.removesuffix(source[1]) + target[1]
        permission.save(update_fields=["codename"])


def move_content_type(apps, schema_editor):
    _move_content_type(apps, OLD, NEW)


def move_content_type_back(apps, schema_editor):
    _move_content_type(apps, NEW, OLD)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("onec_exchange", "0002_exchange_import_flow_run"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="LoginFailure",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("client_ip", models.GenericIPAddressField(db_index=True, null=True, verbose_name="адрес")),
                        ("username", models.CharField(blank=True, max_length=150, verbose_name="пользователь")),
                        ("reason", models.CharField(max_length=200, verbose_name="причина")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="когда")),
                    ],
                    options={
                        "verbose_name": "отказ во входе",
                        "verbose_name_plural": "отказы во входе",
                        "db_table": "integrations_exchangeauthfailure",
                        "ordering": ["-created_at"],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
        migrations.AddField(
            model_name="loginfailure",
            name="entry",
            field=models.CharField(
                choices=[("admin", "вход в админку"), ("exchange_1c", "обмен с 1С")],
                default="exchange_1c", max_length=20, verbose_name="куда",
            ),
        ),
    ]
