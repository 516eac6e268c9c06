"""Run-wide problems of a 1C import: each fails the run with a message saying what to do."""


class ImportRunError(Exception):
    """A problem with the whole run (not a single file); never retried."""


class CatalogEmptyError(ImportRunError):
    pass


class ExchangeDirectoryError(ImportRunError):
    pass


class CommerceMLError(ImportRunError):
    """Malformed exchange XML; the message names the file and line."""


class ChunkFailuresError(ImportRunError):
    pass


class ImportAlreadyRunningError(Exception):
    def __init__(self, active_session):
        self.active_session = active_session
        super().__init__(
            f"another import is already running: session #{active_session.pk} "
            f"({active_session.get_import_type_display()}, {active_session.get_status_display()})"
            if active_session
            else "another import is already running"
        )


class IllegalTransitionError(Exception):
    pass


class ImportNotActiveError(Exception):
    """Cancel was asked for a session that has already ended."""


class PrefectUnavailableError(Exception):
    """Prefect's API could not be reached or refused a state change."""
