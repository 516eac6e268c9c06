"""Adding an import type touches one spec, one flow module and one service: registered here
with only those (the service is the stocks import's warehouse service), a sixth type runs
from the command line and shows up on the import page and the session pages."""
import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.imports import import_types
from apps.imports.import_types import ExchangeKind, ImportTypeSpec, ReportCounter
from apps.imports.models import ImportSession
from apps.products.models import Warehouse
from commerceml import writer as cml
from tests.exchange_builders import Exchange31
from tests.flows.helpers import run_import_command

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("prefect_server")]

_SERVICE = "apps.imports.services.stocks_import"
WAREHOUSES = ImportTypeSpec(
    key="warehouses",
    label="Склады",
    description="Создание и обновление складов из 1С",
    files=("storages/*.xml",),
    needs_catalog=False,
    flow="tests.flows.warehouses_flow:import_warehouses",
    flow_name="import-warehouses",
    kinds=(
        ExchangeKind(
            "storages", f"{_SERVICE}.stocks_import_warehouses_file", f"{_SERVICE}.stocks_deactivate_absent_warehouses"
        ),
    ),
    required_kind="storages",
    counters=(
        ReportCounter("total_files", "Файлов обмена", "файлы"),
        ReportCounter("processed", "Файлов обработано", "файлы"),
        ReportCounter("warehouses_created", "Складов создано", "записи"),
        ReportCounter("warehouses_updated", "Складов обновлено", "записи"),
        ReportCounter("errors", "Записей с ошибками", "записи"),
    ),
    summary_counters=("warehouses_created", "warehouses_updated", "errors"),
)


@pytest.fixture
def sixth_type(monkeypatch):
    monkeypatch.setattr(import_types, "IMPORT_TYPES", (*import_types.IMPORT_TYPES, WAREHOUSES))


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    return client


def test_a_sixth_type_runs_and_is_shown_with_only_its_spec_flow_and_service(
    sixth_type, tmp_path, settings, capsys, superuser_client
):
    exchange = Exchange31(tmp_path / "exchange")
    exchange.storages(cml.Warehouse("w1", "Склад на Ленина"), cml.Warehouse("w2", "Склад на Мира"))
    settings.ONEC_DATA_DIR = exchange.root

    report = run_import_command(capsys, "warehouses")

    assert (report["status"], report["warehouses_created"], report["total_files"]) == ("completed", 2, 1)
    assert set(Warehouse.objects.values_list("name", flat=True)) == {"Склад на Ленина", "Склад на Мира"}
    session = ImportSession.objects.get(import_type="warehouses")
    session.full_clean()  # a valid choice of the model, without a migration
    assert session.get_import_type_display() == "Склады"

    page = superuser_client.get("/admin/integrations/import_1c/").content.decode()
    assert 'value="warehouses"' in page and f"{exchange.root}/storages/*.xml" in page
    listing = superuser_client.get(reverse("admin:integrations_importsession_changelist")).content.decode()
    assert f'title="Складов создано" data-import-session="{session.pk}" data-field="warehouses_created">2<' in listing
    detail = superuser_client.get(reverse("admin:integrations_importsession_change", args=[session.pk]))
    assert '<th scope="row">Складов создано</th>' in detail.content.decode()
