"""StoredImage moves here from the products app. Its tables (products_storedimage and the
products link table) stay where they are: only Django's state moves, so every row is kept;
its content type moves with it, and with that the permissions on it."""
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="media", model="storedimage").exists():
        ContentType.objects.filter(app_label="products", model="storedimage").update(app_label="media")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="products", model="storedimage").exists():
        ContentType.objects.filter(app_label="media", model="storedimage").update(app_label="products")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("products", "0005_stored_image_renditions"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='StoredImage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=500, unique=True, verbose_name='имя в медиа-хранилище')),
                        ('source_name', models.CharField(blank=True, max_length=500, verbose_name='файл в import_files')),
                        ('source_size', models.BigIntegerField(blank=True, null=True, verbose_name='размер исходного файла')),
                        ('source_mtime_ns', models.BigIntegerField(blank=True, null=True, verbose_name='время изменения исходного файла, нс')),
                        ('sha256', models.CharField(blank=True, db_index=True, max_length=64, verbose_name='SHA-256 содержимого')),
                        ('stored_size', models.BigIntegerField(blank=True, null=True, verbose_name='размер в хранилище')),
                        ('etag', models.CharField(blank=True, max_length=100, verbose_name='ETag в хранилище')),
                        ('width', models.PositiveIntegerField(blank=True, null=True, verbose_name='ширина')),
                        ('height', models.PositiveIntegerField(blank=True, null=True, verbose_name='высота')),
                        ('content_type', models.CharField(blank=True, max_length=100, verbose_name='тип содержимого')),
                        ('renditions_spec', models.CharField(blank=True, help_text='ONEC_IMAGE_RENDITIONS (с версией кодировщика), по которому сделаны веб-версии; пусто — ещё не сделаны или не получились.', max_length=500, verbose_name='веб-версии сделаны по')),
                        ('renditions', models.JSONField(blank=True, default=list, help_text='[{"spec": "webp:800", "format": "webp", "width": ..., "height": ..., "name": ..., "size": ...}]', verbose_name='веб-версии')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('products', models.ManyToManyField(blank=True, related_name='stored_images', to='products.product', verbose_name='товары')),
                    ],
                    options={
                        'verbose_name': 'изображение в хранилище',
                        'verbose_name_plural': 'изображения в хранилище',
                        'db_table': 'products_storedimage',
                        'ordering': ['id'],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
