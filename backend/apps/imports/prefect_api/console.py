"""The terminal of a command that runs flows in its own process (`import_1c`, so `./dev demo`
too): one line per event, in the site's language. The project's own lines pass as they are
(the flows log them translated); Prefect's routine engine lines ("Beginning flow run…",
"Created task run…", "Finished in state Completed()") are left out; its warnings and errors
about a run are said in our words, with our exception's message where there is one.
Other libraries' lines (urllib3's "Connection pool is full…", httpx's, Python's warnings) are
routine below ERROR and left out; their errors are said as Prefect's are («urllib3 сообщает:
…»), the library named by its logger.

Only the console's handlers change: Prefect's API log handler (the run's logs in its UI)
still receives every record, unchanged and with its traceback.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from pathlib import Path

import prefect
from django.utils.translation import gettext

from apps.i18n.messages import error_message, message_text

# A record logged from a file of this directory is Prefect's own line.
PREFECT_DIR = str(Path(prefect.__file__).resolve().parent)
_CONSOLE_HANDLERS = ("PrefectConsoleHandler", "StreamHandler")
_FINAL_STATE = "Finished in state "  # how Prefect's engine says a run ended
# Our loggers: the project's packages (logging.getLogger(__name__)) and the run loggers our
# flows get from Prefect (get_run_logger(); Prefect's own lines on them are told by their file).
_OUR_LOGGERS = ("apps", "config", "flows", "commerceml", "devtools", "prefect.flow_runs", "prefect.task_runs")


def is_prefect_line(record: logging.LogRecord) -> bool:
    return _in_prefect(record.pathname)


def is_our_line(record: logging.LogRecord) -> bool:
    return not is_prefect_line(record) and any(
        record.name == name or record.name.startswith(name + ".") for name in _OUR_LOGGERS
    )


@functools.lru_cache(maxsize=256)
def _in_prefect(path: str) -> bool:
    """Whether a record's file is Prefect's (a few dozen files log: the answer is kept)."""
    return str(Path(path).resolve()).startswith(PREFECT_DIR + "/")


def prefect_line_in_our_words(record: logging.LogRecord) -> str:
    """A warning or an error of Prefect's engine about a run: our exception's message in the
    site's language where it carries one; Prefect's own English text only where none."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None:
        return message_text(error_message(exc))
    return gettext("Prefect says: %(details)s") % {"details": record.getMessage()}


def library_line_in_our_words(record: logging.LogRecord) -> str:
    """Another library's error, its text as that library's (it has no words of ours)."""
    return gettext("%(library)s says: %(details)s") % {"library": record.name.split(".")[0], "details": record.getMessage()}


class OurLinesOnly(logging.Filter):
    """Drops other libraries' lines below ERROR, Prefect's routine lines (below WARNING), its line of a run's final state
    ("Finished in state Failed(…)", an error when the run failed: the command says how each
    run ended, in its words) and its repeat of an error already shown (the flow run
    re-raising its step's error). Everything else reaches the console."""

    def __init__(self):
        super().__init__()
        self._errors_shown: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if is_our_line(record):
            return True
        if not is_prefect_line(record):
            return record.levelno >= logging.ERROR  # another library's: its routine lines are left out
        if record.levelno < logging.WARNING or record.getMessage().startswith(_FINAL_STATE):
            return False
        if not record.exc_info:
            return True
        said = prefect_line_in_our_words(record)
        if said in self._errors_shown:
            return False
        self._errors_shown.add(said)
        return True


class ConsoleFormatter(logging.Formatter):
    """`12:00:01 summarize-147: message`: the time, the step (task run) or flow run the line
    is about (else the logger), a warning's or an error's word, the message; no traceback
    (one line per event)."""

    def format(self, record: logging.LogRecord) -> str:
        name = getattr(record, "task_run_name", None) or getattr(record, "flow_run_name", None) or record.name
        name += getattr(record, "session", "")  # the project's console handler names the import session
        if is_our_line(record):
            message = record.getMessage()
        elif is_prefect_line(record):
            message = prefect_line_in_our_words(record)
        else:
            message = library_line_in_our_words(record)
        if record.levelno >= logging.ERROR:
            message = gettext("error: %(message)s") % {"message": message}
        elif record.levelno >= logging.WARNING:
            message = gettext("warning: %(message)s") % {"message": message}
        return f"{self.formatTime(record, '%H:%M:%S')} {name}: {message}"


@contextmanager
def console_for_people():
    """The console's handlers as this module says while the block runs; as they were after
    it (a command called in a process that goes on, e.g. by call_command, leaves no trace)."""
    our_lines_only = OurLinesOnly()
    changed = []
    for name in ["", *logging.root.manager.loggerDict]:
        for handler in getattr(logging.getLogger(name), "handlers", []):
            if type(handler).__name__ in _CONSOLE_HANDLERS and not isinstance(handler.formatter, ConsoleFormatter):
                changed.append((handler, handler.formatter))
                handler.setFormatter(_CONSOLE_FORMATTER)
                handler.addFilter(our_lines_only)
    try:
        yield
    finally:
        for handler, formatter in changed:
            handler.setFormatter(formatter)
            handler.removeFilter(our_lines_only)


_CONSOLE_FORMATTER = ConsoleFormatter()
