"""`dev_say`: one line of `./dev demo`'s own output, in the site's language
(DJANGO_LANGUAGE_CODE, default ru), on standard error as `dev: …`.

./dev is a shell script, whose texts no catalogue reads: the lines a shop's engineer sees
while the demo sets up live here, by name, with their `%(name)s` values passed as
`name=value`. (The lines printed before the venv exists, `installing Python packages…`,
stay English: nothing can translate them yet.)"""
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_noop

from devtools.lines import dev_line

LINES = {
    "migrating": gettext_noop("migrating the database (var/db.sqlite3 unless DATABASE_URL is set)..."),
    "generating": gettext_noop("generating the demo exchange in %(dir)s..."),
    "importing": gettext_noop(
        "importing catalog, prices, stocks and images from %(dir)s (a JSON report each, images last)..."
    ),
    "import-failed": gettext_noop("an import failed (the reason is above)"),
}


class Command(BaseCommand):
    help = "Print one of ./dev's lines (by name) in the site's language, on standard error."

    def add_arguments(self, parser):
        parser.add_argument("line", choices=sorted(LINES))
        parser.add_argument("values", nargs="*", metavar="name=value", help="the line's values")

    def handle(self, *args, **options):
        values = dict(value.partition("=")[::2] for value in options["values"])
        try:
            line = dev_line(LINES[options["line"]], values)
        except KeyError as missing:
            raise CommandError(f"the line {options['line']!r} needs the value {missing}=…") from None
        self.stderr.write(line)
