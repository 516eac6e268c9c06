"""`./dev`'s own lines, in the site's language (config.language), with their `%(name)s` values:
`./dev` says one by name (`python3 -m devtools.lines NAME name=value…`, on standard error as
`dev: …`), `./dev stack` through `dev_line`.

Standard library only: the system python3 says the lines printed before the venv exists
(installing packages, starting PostgreSQL), and a line costs no start of Django. Its texts are
read from the project's compiled catalogue (locale/…/django.mo, which `./dev` compiles first);
where there is none yet (a fresh clone without msgfmt), a line is said in English, as written."""
from __future__ import annotations

import sys
from collections.abc import Mapping

from config.language import gettext_noop, site_catalogue


LINES = {
    "installing-packages": gettext_noop("installing Python packages into .venv (first run only, about a minute)..."),
    "installing-debian": gettext_noop("installing Debian's %(packages)s (first run only)..."),
    "starting-postgres": gettext_noop("starting the local PostgreSQL..."),
    "migrating": gettext_noop("migrating the database (var/db.sqlite3 unless DATABASE_URL is set)..."),
    "generating": gettext_noop("generating the demo exchange in %(dir)s..."),
    "importing": gettext_noop(
        "importing catalog, prices, stocks and images from %(dir)s (a JSON report each, images last)..."
    ),
    "import-failed": gettext_noop("an import failed (the reason is above)"),
}


def dev_line(text: str, values: Mapping[str, object]) -> str:
    """`dev: ` and the translated text with its `%(name)s` values (KeyError: one is missing)."""
    return f"dev: {site_catalogue().gettext(text) % values}"


def main(argv: list[str]) -> int:
    """`NAME name=value…`: the line on standard error; 2 for a line or value it does not know."""
    if not argv or argv[0] not in LINES:
        print(f"devtools.lines: say one of {', '.join(sorted(LINES))}", file=sys.stderr)
        return 2
    name, values = argv[0], dict(value.partition("=")[::2] for value in argv[1:])
    try:
        print(dev_line(LINES[name], values), file=sys.stderr)
    except KeyError as missing:
        print(f"devtools.lines: the line {name!r} needs the value {missing}=…", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
