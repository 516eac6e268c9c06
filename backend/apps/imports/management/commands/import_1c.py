"""`import_1c TYPE [TYPE ...]`: run import flows in this process, one after the other, and
report each session."""
import functools
import json
import re
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter
from django.utils.translation import gettext, gettext_noop

from apps.i18n.messages import Message, message_of, message_text

from apps.imports.exceptions import ImportAlreadyRunningError
from apps.imports.import_types import RUN_ENTRIES, import_type_spec, import_type_specs
from apps.imports.log_context import import_session_log_context
from apps.imports.models import ImportSession
from apps.imports.options import ImageImportOptions
from apps.imports.prefect_api.console import console_for_people
from apps.imports.prefect_api.embedded import (
    EmbeddedServerError,
    prefect_api_for_this_run,
    server_would_be_embedded,
    wait_for_task_run_records,
)
from apps.imports.prefect_api.ui import flow_run_ui_url
from apps.imports.reports import counted
from apps.imports.services.sessions import import_session_create, import_session_settle


class _HelpFormatter(DjangoHelpFormatter):
    """argparse's own word (Python has no Russian catalogue for it) in the site's language."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, gettext("usage: ") if prefix is None else prefix)


# argparse's error messages (Python 3.11's texts; Python has no Russian catalogue for them) in
# our words; a message matching none is kept as argparse says it.
_ARGPARSE_ERRORS = (
    (re.compile(r"argument (?P<argument>[^:]+): (?P<message>.+)", re.S), gettext_noop("argument %(argument)s: %(message)s")),
    (re.compile(r"invalid choice: (?P<value>.+) \(choose from (?P<choices>.+)\)"),
     gettext_noop("invalid choice: %(value)s (choose from %(choices)s)")),
    (re.compile(r"the following arguments are required: (?P<arguments>.+)"),
     gettext_noop("the following arguments are required: %(arguments)s")),
    (re.compile(r"unrecognized arguments: (?P<arguments>.+)"), gettext_noop("unrecognized arguments: %(arguments)s")),
    (re.compile(r"expected one argument"), gettext_noop("expected one value")),
    (re.compile(r"invalid int value: (?P<value>.+)"), gettext_noop("not a whole number: %(value)s")),
    (re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)"),
     gettext_noop("ambiguous option: %(option)s could be %(matches)s")),
)


def _argparse_message_in_our_words(message: str) -> str:
    for pattern, ours in _ARGPARSE_ERRORS:
        if said := pattern.fullmatch(message):
            params = said.groupdict()
            if "message" in params:
                params["message"] = _argparse_message_in_our_words(params["message"])
            return Message(ours, **params).translated()
    return message


def _error_in_our_words(parser: CommandParser, message: str):
    """CommandParser.error with argparse's message and words in the site's language."""
    message = _argparse_message_in_our_words(message)
    if not parser.called_from_command_line:
        CommandParser.error(parser, message)  # raises CommandError, as for call_command
    parser.print_usage(sys.stderr)
    parser.exit(2, gettext("%(prog)s: error: %(message)s\n") % {"prog": parser.prog, "message": message})


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse takes a str: in the language of the moment
        return gettext(
            "Run 1C imports (Prefect flows) in this process, in the order given, and print each session's report. "
            "Options a type does not take are ignored for it."
        )

    # Django's options keep working; their English help is left out, and the ones a person
    # running an import needs are said again in add_arguments, with our help ("resolve": ours
    # replaces Django's, same names, values and defaults).
    suppressed_base_arguments = {
        "--version", "--verbosity", "--settings", "--pythonpath", "--traceback", "--no-color", "--force-color",
        "--skip-checks",
    }

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(
            prog_name, subcommand, add_help=False, formatter_class=_HelpFormatter, conflict_handler="resolve", **kwargs
        )
        parser.error = functools.partial(_error_in_our_words, parser)  # Django makes the parser: its error() is set here
        return parser

    def add_arguments(self, parser):
        keys = [spec.key for spec in import_type_specs()]
        types = parser.add_argument_group(gettext("import types"))
        parser = parser.add_argument_group(gettext("options"))
        parser.add_argument("-h", "--help", action="help", help=gettext("show this help and exit"))
        types.add_argument(
            "import_types", nargs="+", choices=keys, metavar="TYPE",
            help=gettext("one or more of: %(types)s") % {"types": ", ".join(keys)},
        )
        parser.add_argument("--data-dir", help=gettext("the 1C exchange directory (default: ONEC_DATA_DIR)"))
        parser.add_argument("--validate-images", action="store_true", help=gettext("decode every image before copying"))
        parser.add_argument("--chunk-size", type=int, help=gettext(
            "products per image task (default: from the catalog size, at least ONEC_IMAGE_CHUNK_SIZE; docs/import-types.md)"
        ))
        parser.add_argument(
            "--dry-run", action="store_true",
            help=gettext("images: report what would be copied or changed; write nothing"),
        )
        parser.add_argument(
            "--mirror", action="store_true",
            help=gettext("images: make main image and gallery equal to 1C's current <Картинка> list (default: only add)"),
        )
        parser.add_argument(
            "--verify-storage", action="store_true",
            help=gettext("images: check every recorded photo is in media storage with its size; upload again what is not"),
        )
        parser.add_argument(
            "--rebuild-renditions", action="store_true",
            help=gettext(
                "images: make every photo's web renditions (ONEC_IMAGE_RENDITIONS) again, not only the missing ones"
            ),
        )
        parser.add_argument(
            "--shards", type=int,
            help=gettext(
                "images: spread the import over N flow runs on the workers of the shard pool (needs PREFECT_API_URL "
                "and `python -m flows.shard_worker` (serving the pool onec-images-shards) on each host)"
            ),
        )
        parser.add_argument("--json", action="store_true", help=gettext("print the final report as one JSON line"))
        parser.add_argument(
            "-v", "--verbosity", default=1, type=int, choices=[0, 1, 2, 3],
            help=gettext("how much to print: 0 least, 1 normal, 2 and 3 more"),
        )
        parser.add_argument("--traceback", action="store_true", help=gettext("print an error's full traceback"))
        parser.add_argument(
            "--settings", help=gettext("the settings module, e.g. config.settings (default: DJANGO_SETTINGS_MODULE)"),
        )
        parser.add_argument("--pythonpath", help=gettext("a folder to add to Python's module path, e.g. backend"))
        parser.add_argument("--skip-checks", action="store_true", help=gettext("skip Django's system checks"))

    def handle(self, *args, **options):
        specs = [import_type_spec(import_type) for import_type in options["import_types"]]
        flows = [spec.load_flow() for spec in specs]  # loads Prefect's logging set-up before it is adjusted
        try:
            with console_for_people():
                self._run_all(specs, flows, options)
        finally:
            import_session_log_context(None)

    def _run_all(self, specs, flows, options):
        data_dir = str(Path(options["data_dir"]).resolve()) if options["data_dir"] else None
        image_options = ImageImportOptions.from_cli(options)
        failed = []
        if image_options.shards > 1 and server_would_be_embedded():  # refused before a server starts
            self._fail(gettext(
                "--shards %(shards)s needs a Prefect server whose workers serve the pool "
                "onec-images-shards, not the embedded one: start ./dev stack (or set PREFECT_API_URL) and "
                "`python -m flows.shard_worker` (serving the pool onec-images-shards) on each host "
                "(docs/several-machines.md)"
            ) % {"shards": options["shards"]})
        # One Prefect server for all the runs: the embedded one starts once, not per type.
        with ExitStack() as prefect_api:
            try:
                server_is_embedded = prefect_api.enter_context(prefect_api_for_this_run())
            except EmbeddedServerError as exc:  # before any session is made
                self._fail(message_text(message_of(exc)))
            for spec, flow in zip(specs, flows):
                parameters = {"data_dir": data_dir} if data_dir else {}
                if spec.options is not None:
                    parameters["options"] = image_options.as_parameters()
                session = self._run(
                    spec, flow, parameters, server_is_embedded=server_is_embedded, as_json=options["json"]
                )
                if session.status != ImportSession.Status.COMPLETED:
                    reason = session.error_message_text or session.get_status_display()
                    failed.append(f"{spec.key}: {reason}" if len(specs) > 1 else reason)
        if failed:
            self._fail("; ".join(failed))

    def _run(self, spec, flow, parameters, *, server_is_embedded: bool, as_json: bool) -> ImportSession:
        """Run one type's flow for a new CLI session; report and return the ended session."""
        try:
            session = import_session_create(
                import_type=spec.key, started_by=ImportSession.StartedBy.CLI, parameters=parameters
            )
        except ImportAlreadyRunningError as exc:
            self._fail(gettext("%(reason)s; wait for it to finish or cancel it in the admin") % {
                "reason": message_text(message_of(exc))
            })
        import_session_log_context(session.pk)
        started = time.monotonic()
        try:
            try:
                flow(session_id=session.pk, **parameters, return_state=True)
            finally:
                session.refresh_from_db()
                if server_is_embedded and session.flow_run_id:
                    # The embedded server stops with the command: let it record the run first.
                    wait_for_task_run_records(session.flow_run_id)
        except KeyboardInterrupt:
            import_session_settle(
                session_id=session.pk, status=ImportSession.Status.CANCELLED, error_message=Message(gettext_noop("interrupted (Ctrl-C)"))
            )
            self._fail(gettext("interrupted"))
        except Exception as exc:  # Prefect itself failed (e.g. its server did not start)
            import_session_settle(
                session_id=session.pk, status=ImportSession.Status.FAILED, error_message=Message(gettext_noop("Prefect error: %(error)s"), error=str(exc))
            )
        session.refresh_from_db()
        if session.is_active:  # the flow ended without settling it: never leave it running
            session = import_session_settle(
                session_id=session.pk, status=ImportSession.Status.FAILED,
                error_message=Message(gettext_noop("the flow ended without a result; see its logs in Prefect")),
            ) or session
        self._report(session, time.monotonic() - started, as_json=as_json)
        return session

    def _report(self, session, seconds, *, as_json):
        report = session.report.printed()
        if as_json:
            self.stdout.write(json.dumps({**report, "status": session.status, "session_id": session.pk}, ensure_ascii=False))
            return
        self.stdout.write(gettext("%(type)s — session #%(id)s: %(status)s in %(seconds).1f s") % {
            "type": session.get_import_type_display(), "id": session.pk, "status": session.get_status_display(),
            "seconds": seconds,
        })
        # Prefect's own "View at …" line is left out of the terminal (prefect_api.console): the link, said here.
        if url := flow_run_ui_url(session.flow_run_id):
            self.stdout.write("  " + gettext("the run in Prefect's UI: %(url)s") % {"url": url})
        # The type's counters, then what else the run recorded, each under the session page's label.
        counters = import_type_spec(session.import_type).counters
        for counter in counters:
            self.stdout.write(f"  {counted(counter.label, session.report.count(counter.key)).translated()}")
        for key, entry in RUN_ENTRIES.items():
            if key in report and key not in {counter.key for counter in counters}:
                self.stdout.write(f"  {counted(entry.label, report[key]).translated()}")

    def _fail(self, reason) -> NoReturn:
        sys.stderr.write(f"import_1c: {reason}\n")
        sys.exit(1)
