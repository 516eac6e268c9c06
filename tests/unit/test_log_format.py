"""The console log: one line per event, with the import session's id inside a session's
context (config/settings.py LOGGING, apps/imports/log_context.py)."""
import contextvars
import logging
import sys

from apps.imports.log_context import import_session_log_context


def _console_line(logger_name: str, message: str, *, exc_info=None) -> str:
    [handler] = logging.getLogger(logger_name.split(".")[0]).handlers
    record = logging.getLogger(logger_name).makeRecord(logger_name, logging.ERROR, __file__, 1, message, (), exc_info)
    assert handler.filter(record)
    return handler.format(record)


def test_a_traceback_is_folded_into_its_line_which_names_the_session():
    def in_a_session():
        import_session_log_context(42)
        try:
            raise ValueError("goods.xml: line 3 is broken")
        except ValueError:
            return _console_line("apps.imports.services.images_import", "chunk failed", exc_info=sys.exc_info())

    line = contextvars.copy_context().run(in_a_session)

    assert "\n" not in line
    assert " ERROR apps.imports.services.images_import session=42: chunk failed\\nTraceback" in line
    assert line.endswith("ValueError: goods.xml: line 3 is broken")


def test_outside_a_session_a_line_names_none():
    import_session_log_context(None)  # an earlier test in this process may have run inside a session
    line = _console_line("config.health", "healthz: database does not answer")
    assert line.endswith(" ERROR config.health: healthz: database does not answer")
