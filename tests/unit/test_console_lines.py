"""The terminal of `import_1c` (and so of `./dev demo`): our lines as they are, Prefect's
routine engine lines left out, its warnings and errors about a run in our words and the
site's language (apps/imports/prefect_api/console.py). Records are made as Prefect's engine
makes them: logged from a file of Prefect's package, with the run's names as extras."""
import logging
import sys
from pathlib import Path

import prefect.flow_engine
import prefect.task_engine
import pytest

from apps.imports.exceptions import CatalogEmptyError
from apps.imports.import_types import import_type_specs
from apps.imports.services.preflight import catalog_require_products
from apps.imports.prefect_api.console import ConsoleFormatter, OurLinesOnly, console_for_people
from tests.languages import other_language_sentences

IMPORT_TYPES = [spec.key for spec in import_type_specs()]  # names of the command line, not English words
FLOWS_COMMON = str(Path(__file__).resolve().parents[2] / "flows" / "common.py")


def _record(level, message, *, path, exc_info=None, **extra):
    return logging.getLogger("prefect.task_runs").makeRecord(
        "prefect.task_runs", level, path, 1, message, (), exc_info, extra=extra,
    )


def _shown(record, lines: OurLinesOnly | None = None) -> str | None:
    return ConsoleFormatter().format(record) if (lines or OurLinesOnly()).filter(record) else None


def test_prefect_routine_lines_are_left_out_and_ours_pass_in_the_site_language():
    begun = _record(logging.INFO, "Beginning flow run 'famous-dogfish' for flow 'import-catalog'",
                    path=prefect.flow_engine.__file__, flow_run_name="famous-dogfish")
    finished = _record(logging.INFO, "Finished in state Completed()", path=prefect.task_engine.__file__,
                       task_run_name="summarize-147")
    ours = _record(logging.INFO, "48 активных товаров", path=FLOWS_COMMON, task_run_name="validate-catalog-830")
    our_warning = _record(logging.WARNING, "Не импортировано записей: 1", path=FLOWS_COMMON, task_run_name="summarize-147")

    assert _shown(begun) is None and _shown(finished) is None
    assert _shown(ours).endswith(" validate-catalog-830: 48 активных товаров")
    assert _shown(our_warning).endswith(" summarize-147: внимание: Не импортировано записей: 1")


@pytest.mark.django_db
def test_prefect_errors_say_our_exception_in_our_words_without_a_traceback():
    try:
        catalog_require_products(then="images")  # no products: refused, as validate-catalog is
    except CatalogEmptyError:
        failed = _record(logging.ERROR, "Task run failed with exception: CatalogEmptyError(...) - Retries are exhausted",
                         path=prefect.task_engine.__file__, exc_info=sys.exc_info(), task_run_name="validate-catalog-1")
    finished = _record(logging.ERROR, "Finished in state Failed('Task run encountered an exception CatalogEmptyError')",
                       path=prefect.task_engine.__file__, task_run_name="validate-catalog-1")
    crashed = _record(logging.ERROR, "Crash detected! Execution was interrupted by an unexpected exception.",
                      path=prefect.flow_engine.__file__, flow_run_name="khaki-ant")
    lines = OurLinesOnly()

    line = _shown(failed, lines)
    assert "\n" not in line and "Traceback" not in line and "Task run failed" not in line
    assert line.endswith(" validate-catalog-1: ошибка: в базе нет активных товаров: сначала выполните импорт каталога "
                         "(python backend/manage.py import_1c catalog), затем импорт images (в админке: «Каталог "
                         "товаров» на странице импорта из 1С)")
    assert _shown(failed, lines) is None  # the flow run re-raising it: said once
    assert _shown(finished) is None  # a run's final state: the command says how each run ended
    # Prefect's fixed crash text, where it raised nothing of ours, in our words.
    assert _shown(crashed, lines).endswith(" khaki-ant: ошибка: запуск аварийно завершился из-за непредвиденной ошибки")
    assert failed.exc_info is not None and failed.msg.startswith("Task run failed")  # the API's log store gets it as it was


def test_the_console_handlers_are_as_they_were_after_the_command():
    handler = logging.StreamHandler()
    formatter = logging.Formatter("%(message)s")
    handler.setFormatter(formatter)
    logger = logging.getLogger("tests.console_lines")
    logger.addHandler(handler)
    try:
        with console_for_people():
            assert isinstance(handler.formatter, ConsoleFormatter) and handler.filters
        assert handler.formatter is formatter and not handler.filters
    finally:
        logger.removeHandler(handler)


def test_the_commands_help_is_in_the_sites_language():
    """`import_1c --help` in Russian: our texts, argparse's words, Django's options a person
    needs said by us, none of Django's English option texts (all its options still work)."""
    from apps.imports.management.commands.import_1c import Command

    parser = Command().create_parser("manage.py", "import_1c")
    text = parser.format_help()

    assert text.startswith("использование: manage.py import_1c [-h] [--data-dir DATA_DIR]")
    assert "\nтипы импорта:\n" in text and "\nпараметры:\n" in text
    assert "показать эту справку и выйти" in text and "каталог обмена с 1С (по умолчанию — ONEC_DATA_DIR)" in text
    for django_option in ("-v {0,1,2,3}, --verbosity {0,1,2,3}", "--traceback", "--settings SETTINGS",
                          "--pythonpath PYTHONPATH", "--skip-checks"):
        assert django_option in text
    assert not other_language_sentences(text, "ru", names=IMPORT_TYPES), text
    for english in ("usage:", "positional arguments", "options:", "show this help", "Skip system checks", "Verbosity"):
        assert english not in text
    options = parser.parse_args(["catalog", "-v", "0", "--skip-checks", "--settings", "config.settings", "--traceback",
                                 "--pythonpath", "backend", "--no-color"])
    assert (options.verbosity, options.skip_checks, options.import_types) == (0, True, ["catalog"])
    assert (options.settings, options.pythonpath, options.traceback, options.no_color) == (
        "config.settings", "backend", True, True)
    defaults = parser.parse_args(["catalog"])
    assert (defaults.verbosity, defaults.settings, defaults.pythonpath, defaults.traceback) == (1, None, None, False)


def test_other_libraries_routine_lines_are_left_out_and_their_errors_said_as_theirs():
    pool_full = logging.getLogger("urllib3.connectionpool").makeRecord(
        "urllib3.connectionpool", logging.WARNING, "/venv/urllib3/connectionpool.py", 1,
        "Connection pool is full, discarding connection: %s", ("localhost",), None,
    )
    refused = logging.getLogger("httpx").makeRecord(
        "httpx", logging.ERROR, "/venv/httpx/_client.py", 1, "Connection refused", (), None,
    )

    assert _shown(pool_full) is None
    assert _shown(refused).endswith(" httpx: ошибка: httpx сообщает: Connection refused")


def test_our_services_warnings_reach_the_console_once():
    """`apps` and `config` have their own console handler and do not propagate to the root
    logger's (in a Prefect process, Prefect's console handler): one line, not two."""
    class Collected(logging.Handler):
        def __init__(self):
            super().__init__()
            self.records = []

        def emit(self, record):
            self.records.append(record)

    at_root = Collected()
    logging.root.addHandler(at_root)
    try:
        logging.getLogger("apps.media.storage.local").warning("removed 1 partial file")
        logging.getLogger("config.log_format").warning("a warning of the project's settings")
    finally:
        logging.root.removeHandler(at_root)

    assert at_root.records == []


def test_prefects_crash_and_timeout_lines_are_said_in_our_words_once():
    """Prefect's fixed texts of a crash and a timeout, as its engine logs them: ours, in the
    site's language; a Ctrl-C's crash left out (the command says «прервано»); the same line
    of a step and of its flow run said once."""
    def crash(text, *, task=True):
        names = {"task_run_name": "import-images-chunk-3"} if task else {"flow_run_name": "khaki-ant"}
        return _record(logging.ERROR, f"Crash detected! {text}", path=prefect.task_engine.__file__,
                       flow_run_id="0b5e", **names)
    lines = OurLinesOnly()

    assert _shown(crash("Execution was aborted by an interrupt signal."), lines) is None
    assert _shown(crash("Execution was aborted by a termination signal."), lines).endswith(
        " import-images-chunk-3: ошибка: запуск остановлен сигналом завершения (SIGTERM)")
    assert _shown(crash("Execution was aborted by a termination signal.", task=False), lines) is None  # said once
    assert _shown(crash("Execution was aborted by Python system exit call."), lines).endswith(
        ": ошибка: запуск остановлен вызовом завершения программы (sys.exit)")
    assert _shown(crash("Execution was cancelled by the runtime environment."), lines).endswith(
        ": ошибка: запуск отменён средой, в которой он выполнялся (воркером или его инфраструктурой)")
    flow_timeout = _record(logging.ERROR, "Flow run exceeded timeout of 3600 second(s)",
                           path=prefect.flow_engine.__file__, flow_run_name="khaki-ant", flow_run_id="0b5e")
    task_timeout = _record(logging.ERROR, "Task run exceeded timeout of 60 second(s)",
                           path=prefect.task_engine.__file__, task_run_name="summarize-147", flow_run_id="0b5e")
    assert _shown(flow_timeout, lines).endswith(" khaki-ant: ошибка: запуск потока превысил отведённое время: 3600 с")
    assert _shown(task_timeout, lines).endswith(" summarize-147: ошибка: шаг превысил отведённое время: 60 с")
    for record in (flow_timeout, task_timeout):
        assert "timeout" not in _shown(record) and "Prefect" not in _shown(record)


@pytest.mark.parametrize("argv, said", [
    (["bogus"], "manage.py import_1c: ошибка: аргумент TYPE: недопустимое значение: 'bogus' (допустимы: 'catalog', "),
    ([], "manage.py import_1c: ошибка: не заданы обязательные аргументы: TYPE"),
    (["catalog", "--chunk-size", "many"], "manage.py import_1c: ошибка: аргумент --chunk-size: не целое число: 'many'"),
    (["catalog", "--bogus"], "manage.py import_1c: ошибка: неизвестные аргументы: --bogus"),
])
def test_the_commands_argument_errors_are_in_the_sites_language(argv, said, capsys):
    from apps.imports.management.commands.import_1c import Command

    command = Command()
    command._called_from_command_line = True  # as run_from_argv sets it
    parser = command.create_parser("manage.py", "import_1c")
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(argv)

    error = capsys.readouterr().err
    assert exited.value.code == 2
    assert error.startswith("использование: manage.py import_1c ") and f"\n{said}" in error, error
    for english in ("error:", "argument", "invalid choice", "required", "unrecognized", "usage:"):
        assert english not in error


def test_the_same_error_of_another_flow_run_is_shown_again():
    """`import_1c catalog prices`: each type is a flow run of its own; the second failing with
    the first's message still shows its error line."""
    def crash(flow_run_id, task_run_name):
        return _record(logging.ERROR, "Crash detected! Execution was aborted by a termination signal.",
                       path=prefect.task_engine.__file__, flow_run_id=flow_run_id, task_run_name=task_run_name)
    lines = OurLinesOnly()

    assert _shown(crash("run-of-catalog", "import-catalog-1"), lines) is not None
    assert _shown(crash("run-of-catalog", "import-catalog-1"), lines) is None  # its flow run's repeat
    assert _shown(crash("run-of-prices", "import-prices-1"), lines).endswith(
        " import-prices-1: ошибка: запуск остановлен сигналом завершения (SIGTERM)")
