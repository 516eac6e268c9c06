"""The 1C exchange's models move here from the integrations app. Their tables stay where
they are (db_table): only Django's state moves, so every row is kept. Their content types
move with them, which carries the permissions groups and users have on them; the
`exchange_1c` permission stays `integrations.exchange_1c` (on ImportSession)."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED_MODELS = ("exchange1c", "exchangefile", "exchangeimport", "exchangeauthfailure")


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old_exchange = ContentType.objects.filter(app_label="integrations", model="exchange1c").first()
    if old_exchange is not None:
        session_type, _ = ContentType.objects.get_or_create(app_label="integrations", model="importsession")
        Permission.objects.filter(content_type=old_exchange, codename="exchange_1c").update(content_type=session_type)
    for model in MOVED_MODELS:
        if not ContentType.objects.filter(app_label="onec_exchange", model=model).exists():
            ContentType.objects.filter(app_label="integrations", model=model).update(app_label="onec_exchange")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in MOVED_MODELS:
        if not ContentType.objects.filter(app_label="integrations", model=model).exists():
            ContentType.objects.filter(app_label="onec_exchange", model=model).update(app_label="integrations")
    exchange_type = ContentType.objects.filter(app_label="integrations", model="exchange1c").first()
    if exchange_type is not None:
        Permission.objects.filter(content_type__app_label="integrations", codename="exchange_1c").update(
            content_type=exchange_type
        )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("integrations", "0005_exchange_file_from_archive"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='ExchangeAuthFailure',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('client_ip', models.GenericIPAddressField(db_index=True, null=True)),
                        ('username', models.CharField(blank=True, max_length=150)),
                        ('reason', models.CharField(max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ],
                    options={
                        'verbose_name': 'отказ во входе для обмена с 1С',
                        'verbose_name_plural': 'отказы во входе для обмена с 1С',
                        'db_table': 'integrations_exchangeauthfailure',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Exchange1C',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('exchange_type', models.CharField(choices=[('catalog', 'Каталог'), ('sale', 'Заказы')], max_length=20, verbose_name='тип обмена')),
                        ('client_ip', models.GenericIPAddressField(blank=True, null=True, verbose_name='адрес 1С')),
                        ('token', models.CharField(editable=False, max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='начат')),
                        ('last_request_at', models.DateTimeField(blank=True, null=True, verbose_name='последний запрос')),
                        ('closed_at', models.DateTimeField(blank=True, null=True, verbose_name='завершён')),
                        ('staging_cleared', models.BooleanField(default=False, editable=False)),
                        ('busy_until', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'обмен с 1С',
                        'verbose_name_plural': 'обмены с 1С',
                        'db_table': 'integrations_exchange1c',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='ExchangeFile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=1000, verbose_name='имя от 1С')),
                        ('path', models.CharField(max_length=1000, verbose_name='путь в обмене')),
                        ('size', models.BigIntegerField(default=0, verbose_name='размер, байт')),
                        ('received_at', models.DateTimeField(auto_now=True, verbose_name='получен')),
                        ('is_archive', models.BooleanField(default=False, verbose_name='архив')),
                        ('unpacked_entries', models.PositiveIntegerField(default=0, editable=False)),
                        ('from_archive', models.BooleanField(default=False, editable=False, verbose_name='из архива')),
                        ('placed_at', models.DateTimeField(blank=True, null=True, verbose_name='перенесён в каталог обмена')),
                        ('exchange', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='files', to='onec_exchange.exchange1c')),
                    ],
                    options={
                        'verbose_name': 'файл обмена',
                        'verbose_name_plural': 'файлы обмена',
                        'db_table': 'integrations_exchangefile',
                        'ordering': ['exchange', 'id'],
                        'constraints': [models.UniqueConstraint(fields=('exchange', 'path'), name='unique_exchange_file_path')],
                    },
                ),
                migrations.CreateModel(
                    name='ExchangeImport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('filename', models.CharField(max_length=1000, verbose_name='файл')),
                        ('path', models.CharField(max_length=1000, verbose_name='путь в обмене')),
                        ('import_types', models.JSONField(default=list, verbose_name='типы импорта')),
                        ('status', models.CharField(choices=[('preparing', 'Подготовка файлов'), ('running', 'Выполняется'), ('completed', 'Завершён'), ('failed', 'Ошибка')], default='preparing', max_length=20, verbose_name='статус')),
                        ('message', models.TextField(blank=True, verbose_name='итог')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='запрошен')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='завершён')),
                        ('exchange', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='imports', to='onec_exchange.exchange1c')),
                        ('sessions', models.ManyToManyField(blank=True, related_name='exchange_imports', to='integrations.importsession')),
                    ],
                    options={
                        'verbose_name': 'импорт обмена',
                        'verbose_name_plural': 'импорты обмена',
                        'db_table': 'integrations_exchangeimport',
                        'ordering': ['exchange', 'id'],
                        'constraints': [models.UniqueConstraint(fields=('exchange', 'path'), name='unique_exchange_import_path')],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
