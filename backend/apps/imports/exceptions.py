"""Run-wide problems of a 1C import: each fails the run with a message saying what to do
(raised with an apps.i18n Message, it is stored and shown in the site's language)."""
from django.utils.translation import gettext_noop

from apps.i18n.messages import Message, label_message
from apps.media.exceptions import MediaSetupError
from commerceml.reader import CommerceMLError


class ImportRunError(Exception):
    """A problem with the whole run (not a single file); never retried."""


class CatalogEmptyError(ImportRunError):
    pass


class ExchangeDirectoryError(ImportRunError):
    pass


# What fails a whole run and is never retried: bad input or settings, which a retry cannot fix.
RUN_WIDE_ERRORS = (ImportRunError, CommerceMLError, MediaSetupError)


class StepFailuresError(ImportRunError):
    """Some steps of a run (image chunks, exchange files) failed after their retries."""


class ImportAlreadyRunningError(Exception):
    def __init__(self, active_session):
        self.active_session = active_session
        super().__init__(
            Message(
                gettext_noop("another import is already running: session #%(id)s (%(type)s, %(status)s)"),
                id=active_session.pk,
                type=label_message(active_session.ImportType(active_session.import_type).label),
                status=label_message(active_session.Status(active_session.status).label),
            )
            if active_session
            else Message(gettext_noop("another import is already running"))
        )


class IllegalTransitionError(Exception):
    pass


class ImportRefusedError(ImportRunError):
    """A scheduled run found another import running; its session records why."""


class ImportNotActiveError(Exception):
    """Cancel was asked for a session that has already ended."""


class PrefectUnavailableError(Exception):
    """Prefect's API cannot be used from this process: not configured, not reachable, not
    deployed, or it refused a state change."""


class ImportNotStartedError(Exception):
    """An import could not be started; `problems` are the reasons, each one actionable."""

    def __init__(self, problems: list[Exception]):
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))
