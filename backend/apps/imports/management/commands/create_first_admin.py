"""`create_first_admin`: a superuser for a fresh database, once; later calls change nothing."""
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = (
        "Create the first admin (superuser) unless one exists. The password comes from "
        "--password, else DJANGO_ADMIN_PASSWORD, else a generated one that is printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DJANGO_ADMIN_USERNAME", "admin"))
        parser.add_argument("--email", default="")
        parser.add_argument("--password", default=os.environ.get("DJANGO_ADMIN_PASSWORD"))

    def handle(self, *args, username, email, password, **options):
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing:
            self.stdout.write(_("admin user exists: %(name)s (nothing changed)") % {"name": existing.get_username()})
            return
        generated = not password
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        if generated:
            said = _("created admin user %(name)s, password: %(password)s")
        else:
            said = _("created admin user %(name)s, password: as given")
        self.stdout.write(said % {"name": repr(username), "password": password})
