from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.i18n.messages import Message, is_stored_message, message_text

from .import_types import IMPORT_TYPES, import_type_choices
from .reports import ImportReport

# Starting imports (the 1C import page) and cancelling them (the session admin): the
# permission ImportSession.Meta declares, as `user.has_perm` names it.
START_IMPORT_PERMISSION = "integrations.start_import"


class ImportSession(models.Model):
    """One run of a 1C import, as the admin, the CLI and Prefect all see it.

    Its status changes only through `services.sessions`; `running_slot` is True while the
    session is pending or in progress, and its unique constraint lets the database itself
    refuse a second concurrent import.
    """

    # Built from the import-type registry: `ImportSession.ImportType.IMAGES == "images"`.
    ImportType = models.TextChoices("ImportType", [(spec.key.upper(), (spec.key, spec.label)) for spec in IMPORT_TYPES])

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class StartedBy(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        SCHEDULE = "schedule", _("Schedule")
        CLI = "cli", _("Command line")
        EXCHANGE = "exchange", _("1C exchange")

    class Outcome(models.TextChoices):
        """How a session ended, as people read it: a completed run that refused some
        records or files is not the same news as a clean one."""

        COMPLETED = "completed"
        COMPLETED_WITH_ERRORS = "completed_with_errors"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE_STATUSES = (Status.PENDING, Status.IN_PROGRESS)

    import_type = models.CharField(_("import type"), max_length=20, choices=import_type_choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    running_slot = models.BooleanField(null=True, default=True, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    report_details = models.JSONField(_("report"), default=dict, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    # The message as a stored apps.i18n Message (English text and parameters), so it reads in
    # the site's language; empty for sessions stored before: their error_message is shown.
    error_message_translatable = models.JSONField(default=dict, blank=True, editable=False)
    flow_run_id = models.UUIDField("Prefect flow run", null=True, blank=True, unique=True)
    started_by = models.CharField(_("started by"), max_length=20, choices=StartedBy.choices)
    started_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    runner = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=_("host, pid and process start of the process running the flow, to detect a killed run"),
    )

    class Meta:
        verbose_name = _("import session")
        verbose_name_plural = _("import sessions")
        ordering = ["-created_at", "-id"]
        permissions = [
            (START_IMPORT_PERMISSION.split(".")[1], _("Can start imports from 1C")),
            # The 1C exchange app's permission keeps its codename `integrations.exchange_1c`.
            ("exchange_1c", _("Can run the site exchange from 1C (/1c/exchange)")),
        ]

    def __str__(self):
        return f"{self.get_import_type_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def error_message_value(self) -> Message | str:
        """The session's message as a Message where it was stored as one (to raise it, or
        to say it inside another message), else its text as stored."""
        stored = self.error_message_translatable
        return Message.from_json(stored) if is_stored_message(stored) else self.error_message

    @property
    def error_message_text(self) -> str:
        """The session's message in the site's language (as stored, for older sessions)."""
        return message_text(self.error_message_translatable or self.error_message)

    @property
    def report(self) -> ImportReport:
        """`report_details`, read: counters and progress."""
        return ImportReport(self.report_details or {})

    @property
    def outcome(self) -> str:
        """The status, or `completed_with_errors` for a completed run whose report counts
        errors (records or files it could not import)."""
        if self.status == self.Status.COMPLETED and self.report.errors:
            return self.Outcome.COMPLETED_WITH_ERRORS
        return self.status


class ImportChunk(models.Model):
    """The recorded outcome of one chunk task. Re-recording a retried chunk replaces its
    counters (and adjusts the session's totals by the difference), so a chunk is never
    counted twice."""

    session = models.ForeignKey(ImportSession, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    counters = models.JSONField(default=dict)
    error_details = models.JSONField(default=list, blank=True)
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("import chunk")
        verbose_name_plural = _("import chunks")
        constraints = [models.UniqueConstraint(fields=["session", "index"], name="unique_chunk_per_session")]
        ordering = ["session", "index"]


class ImportAlert(models.Model):
    """One e-mail to ONEC_NOTIFY_EMAILS (services.alerts): about a session that failed, was
    cancelled or completed with errors, or about a nightly import that is overdue. Its
    unique `key` makes it one mail per event however often the sending step runs; the text
    is written when the event is recorded, so a retry sends the same mail."""

    class State(models.TextChoices):
        DUE = "due"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"  # the mail server refused or did not answer: sent again by the next check

    key = models.CharField(max_length=100, unique=True)
    session = models.ForeignKey(
        ImportSession, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    subject = models.CharField(max_length=255)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.DUE, db_index=True)
    error = models.TextField(blank=True, help_text="why the last attempt was not sent")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import alert")
        verbose_name_plural = _("import alerts")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.key} ({self.state})"
