"""Which import session a log line belongs to: flows and the command line name the session
once it is known (`import_session_log_context`), and every line logged after it in that
context, by the run's tasks too (Prefect copies the context into them), says
`session=<id>` (the console's format: config/log_format.py)."""
from __future__ import annotations

import contextvars
import logging

_session_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("import_session_id", default=None)


def import_session_log_context(session_id: int | None) -> None:
    """Name the session the lines logged from here on in this context belong to."""
    _session_id.set(session_id)


class ImportSessionLogFilter(logging.Filter):
    """Adds `session` to every record: " session=<id>" inside a session's context (or when
    the call passes `extra={"session_id": ...}`), else ""."""

    def filter(self, record: logging.LogRecord) -> bool:
        session_id = getattr(record, "session_id", None) or _session_id.get()
        record.session = f" session={session_id}" if session_id else ""
        return True
