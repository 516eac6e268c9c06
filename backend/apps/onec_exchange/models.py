"""The 1C site exchange's records: sessions, the files 1C sent, the imports it asked for
(its refused logins are apps.access's LoginFailure). Their tables keep the names the
integrations app gave them."""
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy as _, pgettext_lazy


class Exchange1C(models.Model):
    """One exchange session of 1C over HTTP (/1c/exchange): opened by `checkauth`, closed by
    `complete`. Its files wait in a staging directory of their own until the preparation
    flow of an `import` lays them out in the exchange directory (services.layout)."""

    # Its token stops working after this long without a request; such an exchange also
    # counts as closed (1C gave up on it).
    IDLE_LIMIT = timedelta(hours=24)

    class Type(models.TextChoices):
        CATALOG = "catalog", _("Catalog")
        SALE = "sale", _("Orders")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    exchange_type = models.CharField(_("exchange type"), max_length=20, choices=Type.choices)
    client_ip = models.GenericIPAddressField(_("1C address"), null=True, blank=True)
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("started"), auto_now_add=True, db_index=True)
    last_request_at = models.DateTimeField(_("last request"), null=True, blank=True)
    closed_at = models.DateTimeField(_("finished"), null=True, blank=True)
    staging_cleared = models.BooleanField(default=False, editable=False)
    # While a preparation flow run (`busy_by`, its id) unpacks or moves this exchange's
    # files, other runs wait for it; a claim of a run that died ends at `busy_until`.
    busy_until = models.DateTimeField(null=True, blank=True, editable=False)
    busy_by = models.CharField(max_length=64, blank=True, editable=False)
    # True on the one exchange whose preparation run moves files into the exchange
    # directory now (its claim above says which run, and until when): the unique
    # constraint lets the database itself refuse a second at once.
    moving_files = models.BooleanField(null=True, unique=True, editable=False)
    # When this exchange gave way to another that waited for its files while it waited for
    # theirs (services.layout): its laid-out files hold no one from then on.
    gave_way_at = models.DateTimeField(_("gave way to another exchange"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("a model's name, in a sentence", "1C exchange")
        verbose_name_plural = _("1C exchanges")
        ordering = ["-created_at", "-id"]
        db_table = "integrations_exchange1c"  # the table the integrations app made: no row moves

    def __str__(self):
        return gettext("1C exchange #%(id)s") % {"id": self.pk}


class ExchangeFile(models.Model):
    """A file 1C sent in an exchange: where it waits, its size, and when it was laid out
    in the exchange directory (`path` is relative to both)."""

    exchange = models.ForeignKey(Exchange1C, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(_("name from 1C"), max_length=1000)
    path = models.CharField(_("path in the exchange"), max_length=1000)
    size = models.BigIntegerField(_("size, bytes"), default=0)
    received_at = models.DateTimeField(_("received"), auto_now=True)
    is_archive = models.BooleanField(_("archive"), default=False)
    unpacked_entries = models.PositiveIntegerField(default=0, editable=False)
    # An entry of an archive 1C sent, not a file 1C sent: never unpacked itself.
    from_archive = models.BooleanField(_("from an archive"), default=False, editable=False)
    placed_at = models.DateTimeField(_("moved into the exchange directory"), null=True, blank=True)

    class Meta:
        db_table = "integrations_exchangefile"  # the table the integrations app made: no row moves
        verbose_name = _("exchange file")
        verbose_name_plural = _("exchange files")
        ordering = ["exchange", "id"]
        constraints = [models.UniqueConstraint(fields=["exchange", "path"], name="unique_exchange_file_path")]


class ExchangeImport(models.Model):
    """An `import` 1C asked for, the Prefect flow run that prepares it (lays the files out,
    starts and follows its import runs), what that run is doing, and the import sessions
    it started (in order). Polls answer from this row alone."""

    class Status(models.TextChoices):
        PREPARING = "preparing", _("Preparing files")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    exchange = models.ForeignKey(Exchange1C, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField(_("file"), max_length=1000)
    path = models.CharField(_("path in the exchange"), max_length=1000)
    import_types = models.JSONField(_("import types"), default=list)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PREPARING)
    # What 1C is told besides its runs' counts (services.messages): a list of lines, each a
    # stored apps.i18n Message, so it reads in the site's language; an import stored before
    # the upgrade keeps its text as it was (a string).
    message = models.JSONField(_("result"), default=list, blank=True)
    sessions = models.ManyToManyField("integrations.ImportSession", blank=True, related_name="exchange_imports")
    flow_run_id = models.UUIDField(_("preparation run in Prefect"), null=True, blank=True)
    # What the preparation run is doing: a stored Message (a string before the upgrade).
    progress = models.JSONField(_("preparation progress"), null=True, blank=True)
    # The exchange whose laid-out files this import's preparation waits for (the edges in
    # which services.layout finds exchanges waiting for each other).
    waiting_for = models.ForeignKey(
        Exchange1C, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        db_table = "integrations_exchangeimport"  # the table the integrations app made: no row moves
        verbose_name = _("exchange import")
        verbose_name_plural = _("exchange imports")
        ordering = ["exchange", "id"]
        constraints = [models.UniqueConstraint(fields=["exchange", "path"], name="unique_exchange_import_path")]

    def __str__(self):
        return gettext("exchange import #%(id)s") % {"id": self.pk}
