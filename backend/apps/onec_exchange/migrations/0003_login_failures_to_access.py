"""The refused logins (ExchangeAuthFailure) now belong to apps.access as LoginFailure, on
the same table (access 0001 moves the state, the content type and the permissions)."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("onec_exchange", "0002_exchange_import_flow_run"),
        ("access", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="ExchangeAuthFailure")],
        ),
    ]
