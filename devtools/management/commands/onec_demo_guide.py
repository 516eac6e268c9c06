"""`onec_demo_guide`: after `./dev demo` has imported the demo exchange, say where to look at it."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext

from apps.products.models import Product

ADMIN_URL = "http://127.0.0.1:8000"  # where `./dev stack` serves the admin


class Command(BaseCommand):
    help = "Print where to look at the imported demo: the admin's pages, the photos, the storefront's endpoint."

    def add_arguments(self, parser):
        parser.add_argument("--exchange-dir", type=Path, default=Path("var/demo/exchange"),
                            help="the demo exchange (default: var/demo/exchange)")

    def handle(self, *args, **options):
        example = (
            Product.objects.filter(is_active=True).exclude(main_image="").values_list("onec_id", flat=True).first()
            or "<onec_id>"
        )
        media = settings.MEDIA_ROOT
        lines = [
            gettext("The demo is in the database. To look at it:"),
            gettext("./dev stack, then %(url)s/admin/ (user admin; the first start prints the password)")
            % {"url": ADMIN_URL},
            gettext("per-file errors: %(url)s/admin/integrations/importsession/ (open the images session)")
            % {"url": ADMIN_URL},
            gettext("imported photos: %(media)s/products/, their web renditions: %(media)s/renditions/")
            % {"media": media},
            gettext("a product's pictures and renditions: %(url)s/admin/products/product/ (open a product)")
            % {"url": ADMIN_URL},
            gettext("the storefront's endpoint: %(url)s/api/products/%(id)s/images/") % {"url": ADMIN_URL, "id": example},
            gettext("the bad inputs on purpose, and where: %(path)s") % {"path": options["exchange_dir"] / "README.txt"},
        ]
        self.stdout.write("\n  " + lines[0] + "".join(f"\n    {line}" for line in lines[1:]) + "\n")
