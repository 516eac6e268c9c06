"""`onec_demo_exchange`: write the demo 1C exchange (default var/demo/exchange) once per generator version."""
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from apps.i18n.messages import message_of, message_text
from devtools.demo_exchange import DEFAULT_PRODUCT_COUNT, DEMO_GENERATOR_VERSION, demo_exchange_ensure


class Command(BaseCommand):
    help = (
        "Write a demo 1C exchange (CommerceML 3.1: catalog, photos, prices, stock and a few deliberately bad "
        "inputs) for trying the imports without a real 1C export. Does nothing when it is already there."
    )

    def add_arguments(self, parser):
        parser.add_argument("--target-dir", type=Path, help="where to write it (default: VAR_DIR/demo/exchange)")
        parser.add_argument("--seed", type=int, default=1, help="the same seed writes the same bytes (default: 1)")
        parser.add_argument(
            "--products", type=int, default=DEFAULT_PRODUCT_COUNT,
            help=f"number of products (default: {DEFAULT_PRODUCT_COUNT})",
        )

    def handle(self, *args, **options):
        target_dir = (options["target_dir"] or Path(settings.VAR_DIR) / "demo" / "exchange").resolve()
        started = time.monotonic()
        try:
            summary = demo_exchange_ensure(target_dir=target_dir, seed=options["seed"], products=options["products"])
        except (FileExistsError, ValueError) as exc:
            raise CommandError(message_text(message_of(exc))) from exc
        if summary is None:
            self.stdout.write(gettext(
                "the demo exchange in %(path)s is already there (generator version %(version)s, seed %(seed)s, "
                "%(products)s products); nothing to do"
            ) % {"path": target_dir, "version": DEMO_GENERATOR_VERSION, "seed": options["seed"],
                 "products": options["products"]})
            return
        self.stdout.write(gettext(
            "wrote the demo exchange to %(path)s in %(seconds).1f s: %(products)s products, %(variants)s variants, "
            "%(photos)s photos (%(megabytes).1f MB), %(bad)s deliberately bad inputs (listed in README.txt there)"
        ) % {"path": target_dir, "seconds": time.monotonic() - started, "products": summary.products,
             "variants": summary.variants, "photos": summary.photo_files, "megabytes": summary.photo_bytes / 1e6,
             "bad": len(summary.bad_inputs)})
