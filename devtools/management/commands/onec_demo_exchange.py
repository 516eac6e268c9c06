"""`onec_demo_exchange`: write the demo 1C exchange (default var/demo/exchange) once per generator version."""
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

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
            raise CommandError(str(exc)) from exc
        if summary is None:
            self.stdout.write(
                f"the demo exchange in {target_dir} is already there (generator version {DEMO_GENERATOR_VERSION}, "
                f"seed {options['seed']}, {options['products']} products); nothing to do"
            )
            return
        self.stdout.write(
            f"wrote the demo exchange to {target_dir} in {time.monotonic() - started:.1f} s: {summary.products} products, "
            f"{summary.variants} variants, {summary.photo_files} photos ({summary.photo_bytes / 1e6:.1f} MB), "
            f"{len(summary.bad_inputs)} deliberately bad inputs (listed in README.txt there)"
        )
