"""The terminal of a command that runs flows in its own process (`import_1c`, so `./dev demo`
too): one line per event, in the site's language. The project's own lines pass as they are
(the flows log them translated); Prefect's routine engine lines ("Beginning flow run…",
"Created task run…", "Finished in state Completed()") are left out; its warnings and errors
about a run are said in our words, with our exception's message where there is one, and its
fixed texts of a crash or a timeout as ours (a Ctrl-C's crash is left out: the command says
«прервано»).
Other libraries' lines (urllib3's "Connection pool is full…", httpx's, Python's warnings) are
routine below ERROR and left out; their errors are said as Prefect's are («urllib3 сообщает:
…»), the library named by its logger.

Only the console's handlers change: Prefect's API log handler (the run's logs in its UI)
still receives every record, unchanged and with its traceback.
"""
from __future__ import annotations

import functools
import logging
import re
from contextlib import contextmanager
from pathlib import Path

import prefect
from django.utils.translation import gettext, gettext_noop

from apps.i18n.messages import Message, error_message, message_text

# A record logged from a file of this directory is Prefect's own line.
PREFECT_DIR = str(Path(prefect.__file__).resolve().parent)
_CONSOLE_HANDLERS = ("PrefectConsoleHandler", "StreamHandler")
_FINAL_STATE = "Finished in state "  # how Prefect's engine says a run ended
# Prefect's fixed texts of a crash (prefect/states.py) and of a timeout (flow_engine.py,
# task_engine.py), in our words; None: left out, the command says the outcome itself.
_PREFECT_TEXTS = (
    (re.compile(r"Crash detected! Execution was aborted by an interrupt signal\."), None),
    (re.compile(r"Crash detected! Execution was aborted by a termination signal\."),
     gettext_noop("the run was stopped by a termination signal (SIGTERM)")),
    (re.compile(r"Crash detected! Execution was aborted by Python system exit call\."),
     gettext_noop("the run was stopped by a system exit call")),
    (re.compile(r"Crash detected! Execution was cancelled by the runtime environment\."),
     gettext_noop("the run was cancelled by the environment it runs in (a worker or its infrastructure)")),
    (re.compile(r"Crash detected! Execution was interrupted by an unexpected exception\.?"),
     gettext_noop("the run crashed on an unexpected error")),
    (re.compile(r"Crash detected! Execution was interrupted by an unexpected exception: (?P<details>.+)", re.S),
     gettext_noop("the run crashed on an unexpected error: %(details)s")),
    (re.compile(r"Flow run exceeded timeout of (?P<seconds>\S+) second\(s\)"),
     gettext_noop("the flow run exceeded its time limit of %(seconds)s s")),
    (re.compile(r"Task run exceeded timeout of (?P<seconds>\S+) second\(s\)"),
     gettext_noop("the step exceeded its time limit of %(seconds)s s")),
)
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


def prefect_line_in_our_words(record: logging.LogRecord) -> str | None:
    """A warning or an error of Prefect's engine about a run: our exception's message in the
    site's language where it carries one, its fixed crash and timeout texts as ours (None:
    left out); Prefect's own English text only for the others."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None:
        return message_text(error_message(exc))
    text = record.getMessage()
    for pattern, ours in _PREFECT_TEXTS:
        if said := pattern.fullmatch(text):
            return None if ours is None else Message(ours, **said.groupdict()).translated()
    return gettext("Prefect says: %(details)s") % {"details": text}


def library_line_in_our_words(record: logging.LogRecord) -> str:
    """Another library's error, its text as that library's (it has no words of ours)."""
    return gettext("%(library)s says: %(details)s") % {"library": record.name.split(".")[0], "details": record.getMessage()}


class OurLinesOnly(logging.Filter):
    """Drops other libraries' lines below ERROR, Prefect's routine lines (below WARNING), its
    line of a run's final state ("Finished in state Failed(…)", an error when the run failed:
    the command says how each run ended, in its words), the crash of a Ctrl-C (the command says «прервано») and its
    repeat of a line already shown about the same flow run (it re-raising its step's error, a
    crash said by the step and its flow run; another run's same error, e.g. the next type of
    `import_1c catalog prices`, is shown). Everything else reaches the console."""

    def __init__(self):
        super().__init__()
        self._shown: set[tuple[str | None, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if is_our_line(record):
            return True
        if not is_prefect_line(record):
            return record.levelno >= logging.ERROR  # another library's: its routine lines are left out
        if record.levelno < logging.WARNING or record.getMessage().startswith(_FINAL_STATE):
            return False
        said = prefect_line_in_our_words(record)
        key = (getattr(record, "flow_run_id", None), said)  # Prefect's run loggers name the flow run
        if said is None or key in self._shown:
            return False
        self._shown.add(key)
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
