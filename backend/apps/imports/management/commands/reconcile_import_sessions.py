"""`reconcile_import_sessions`: settle sessions whose Prefect run ended unseen (for cron)."""
from django.core.management.base import BaseCommand

from apps.imports.services.reconcile import import_sessions_reconcile


class Command(BaseCommand):
    help = "Settle pending/in-progress import sessions whose Prefect flow run was cancelled, crashed, failed or is gone."

    def handle(self, *args, **options):
        settled = import_sessions_reconcile()
        for session in settled:
            self.stdout.write(f"session #{session.pk}: {session.status} — {session.error_message}")
        self.stdout.write(f"{len(settled)} session(s) settled")
