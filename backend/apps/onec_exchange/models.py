"""The 1C site exchange's records: sessions, the files 1C sent, the imports it asked for
(its refused logins are apps.access's LoginFailure). Their tables keep the names the
integrations app gave them."""
from datetime import timedelta

from django.conf import settings
from django.db import models


class Exchange1C(models.Model):
    """One exchange session of 1C over HTTP (/1c/exchange): opened by `checkauth`, closed by
    `complete`. Its files wait in a staging directory of their own until the preparation
    flow of an `import` lays them out in the exchange directory (services.layout)."""

    # Its token stops working after this long without a request; such an exchange also
    # counts as closed (1C gave up on it).
    IDLE_LIMIT = timedelta(hours=24)

    class Type(models.TextChoices):
        CATALOG = "catalog", "Каталог"
        SALE = "sale", "Заказы"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    exchange_type = models.CharField("тип обмена", max_length=20, choices=Type.choices)
    client_ip = models.GenericIPAddressField("адрес 1С", null=True, blank=True)
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("начат", auto_now_add=True, db_index=True)
    last_request_at = models.DateTimeField("последний запрос", null=True, blank=True)
    closed_at = models.DateTimeField("завершён", null=True, blank=True)
    staging_cleared = models.BooleanField(default=False, editable=False)
    # While a preparation flow run (`busy_by`, its id) unpacks or moves this exchange's
    # files, other runs wait for it; a claim of a run that died ends at `busy_until`.
    busy_until = models.DateTimeField(null=True, blank=True, editable=False)
    busy_by = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "обмен с 1С"
        verbose_name_plural = "обмены с 1С"
        ordering = ["-created_at", "-id"]
        db_table = "integrations_exchange1c"  # the table the integrations app made: no row moves

    def __str__(self):
        return f"Обмен с 1С #{self.pk}"


class ExchangeFile(models.Model):
    """A file 1C sent in an exchange: where it waits, its size, and when it was laid out
    in the exchange directory (`path` is relative to both)."""

    exchange = models.ForeignKey(Exchange1C, on_delete=models.CASCADE, related_name="files")
    name = models.CharField("имя от 1С", max_length=1000)
    path = models.CharField("путь в обмене", max_length=1000)
    size = models.BigIntegerField("размер, байт", default=0)
    received_at = models.DateTimeField("получен", auto_now=True)
    is_archive = models.BooleanField("архив", default=False)
    unpacked_entries = models.PositiveIntegerField(default=0, editable=False)
    # An entry of an archive 1C sent, not a file 1C sent: never unpacked itself.
    from_archive = models.BooleanField("из архива", default=False, editable=False)
    placed_at = models.DateTimeField("перенесён в каталог обмена", null=True, blank=True)

    class Meta:
        db_table = "integrations_exchangefile"  # the table the integrations app made: no row moves
        verbose_name = "файл обмена"
        verbose_name_plural = "файлы обмена"
        ordering = ["exchange", "id"]
        constraints = [models.UniqueConstraint(fields=["exchange", "path"], name="unique_exchange_file_path")]


class ExchangeImport(models.Model):
    """An `import` 1C asked for, the Prefect flow run that prepares it (lays the files out,
    starts and follows its import runs), what that run is doing, and the import sessions
    it started (in order). Polls answer from this row alone."""

    class Status(models.TextChoices):
        PREPARING = "preparing", "Подготовка файлов"
        RUNNING = "running", "Выполняется"
        COMPLETED = "completed", "Завершён"
        FAILED = "failed", "Ошибка"

    exchange = models.ForeignKey(Exchange1C, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField("файл", max_length=1000)
    path = models.CharField("путь в обмене", max_length=1000)
    import_types = models.JSONField("типы импорта", default=list)
    status = models.CharField("статус", max_length=20, choices=Status.choices, default=Status.PREPARING)
    message = models.TextField("итог", blank=True)
    sessions = models.ManyToManyField("integrations.ImportSession", blank=True, related_name="exchange_imports")
    flow_run_id = models.UUIDField("запуск подготовки в Prefect", null=True, blank=True)
    progress = models.TextField("ход подготовки", blank=True)
    created_at = models.DateTimeField("запрошен", auto_now_add=True)
    finished_at = models.DateTimeField("завершён", null=True, blank=True)

    class Meta:
        db_table = "integrations_exchangeimport"  # the table the integrations app made: no row moves
        verbose_name = "импорт обмена"
        verbose_name_plural = "импорты обмена"
        ordering = ["exchange", "id"]
        constraints = [models.UniqueConstraint(fields=["exchange", "path"], name="unique_exchange_import_path")]
