"""Which preparation run may write an exchange import's row: the one it is recorded with.
A file 1C sends again while an earlier run still works starts the import afresh; the
earlier run, which read the earlier file, neither fails nor finishes the new import."""
import uuid

import pytest

from apps.onec_exchange.models import Exchange1C, ExchangeFile, ExchangeImport
from apps.onec_exchange.services.layout import exchange_import_claim, exchange_import_fail
from apps.onec_exchange.services.protocol import _import_again
from apps.onec_exchange.services.runs import exchange_import_runs_advance

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_import():
    """units/units.xml's import, failed by run `earlier` (its archive was damaged), and the
    archive sent again."""
    exchange = Exchange1C.objects.create(exchange_type=Exchange1C.Type.CATALOG, token=uuid.uuid4().hex)
    earlier = uuid.uuid4()
    record = ExchangeImport.objects.create(
        exchange=exchange, filename="units/units.xml", path="units/units.xml", flow_run_id=earlier,
        status=ExchangeImport.Status.FAILED, message="archive exchange.zip is incomplete or damaged",
    )
    ExchangeImport.objects.filter(pk=record.pk).update(finished_at=record.created_at)
    ExchangeFile.objects.create(exchange=exchange, name="exchange.zip", path="exchange.zip", size=10)
    return exchange, record, earlier


def test_a_run_of_the_earlier_file_leaves_the_import_started_afresh_alone(failed_import):
    exchange, record, earlier = failed_import
    # What the poll after the file was sent again does (before it asks Prefect for a new run).
    record = _import_again(record)
    assert (record.status, record.flow_run_id) == (ExchangeImport.Status.PREPARING, None)

    step = exchange_import_runs_advance(exchange_import_id=record.pk, flow_run_id=earlier)
    exchange_import_fail(exchange_import_id=record.pk, reason="the earlier run's failure hook", flow_run_id=earlier)

    record.refresh_from_db()
    assert step.finished
    assert (record.status, record.message, record.finished_at) == (ExchangeImport.Status.PREPARING, "", None)


def test_the_first_run_to_claim_an_unrecorded_import_owns_it(failed_import):
    exchange, record, _ = failed_import
    ExchangeImport.objects.filter(pk=record.pk).update(status=ExchangeImport.Status.PREPARING, flow_run_id=None)
    first, second = uuid.uuid4(), uuid.uuid4()

    assert exchange_import_claim(exchange_import_id=record.pk, flow_run_id=first)
    assert not exchange_import_claim(exchange_import_id=record.pk, flow_run_id=second)
    assert ExchangeImport.objects.get(pk=record.pk).flow_run_id == first
