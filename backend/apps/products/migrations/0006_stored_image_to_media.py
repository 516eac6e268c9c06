"""StoredImage now belongs to the media app (same tables)."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("products", "0005_stored_image_renditions"),
        ("media", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="StoredImage")],
        ),
    ]
