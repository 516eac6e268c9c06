"""Which preparation run may write an exchange import's row: the one it is recorded with.
A file 1C sends again while an earlier run still works starts the import afresh; the
earlier run, which read the earlier file, neither fails nor finishes the new import. And
which run may move files into the exchange directory: one at a time, of any exchange."""
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.onec_exchange.models import Exchange1C, ExchangeFile, ExchangeImport
from apps.onec_exchange.services.layout import exchange_files_lay_out, exchange_import_claim, exchange_import_fail
from apps.onec_exchange.services.receiving import exchange_staging_root
from apps.onec_exchange.services.protocol import _import_again
from apps.onec_exchange.services.runs import exchange_import_runs_advance
from apps.onec_exchange.selectors import exchange_batch_xml_replaced

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_english")]  # the answers' English texts


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
    assert (record.status, record.message, record.finished_at) == (ExchangeImport.Status.PREPARING, [], None)


def test_the_first_run_to_claim_an_unrecorded_import_owns_it(failed_import):
    exchange, record, _ = failed_import
    ExchangeImport.objects.filter(pk=record.pk).update(status=ExchangeImport.Status.PREPARING, flow_run_id=None)
    first, second = uuid.uuid4(), uuid.uuid4()

    assert exchange_import_claim(exchange_import_id=record.pk, flow_run_id=first)
    assert not exchange_import_claim(exchange_import_id=record.pk, flow_run_id=second)
    assert ExchangeImport.objects.get(pk=record.pk).flow_run_id == first


def _staged_goods(username: str) -> ExchangeImport:
    """An exchange of its own user with goods/goods.xml received, and its import asked for."""
    exchange = Exchange1C.objects.create(
        user=User.objects.create_user(username), exchange_type=Exchange1C.Type.CATALOG, token=uuid.uuid4().hex,
        last_request_at=timezone.now(),
    )
    staged = exchange_staging_root(exchange.pk) / "goods" / "goods.xml"
    staged.parent.mkdir(parents=True)
    staged.write_text(username)
    ExchangeFile.objects.create(exchange=exchange, name="goods/goods.xml", path="goods/goods.xml", size=len(username))
    return ExchangeImport.objects.create(exchange=exchange, filename="goods/goods.xml", path="goods/goods.xml")


def test_one_run_at_a_time_moves_files_into_the_exchange_directory(exchange_dirs):
    moving, waiting = _staged_goods("first"), _staged_goods("second")
    # The first exchange's run is moving its files (and its claim is alive).
    Exchange1C.objects.filter(pk=moving.exchange_id).update(
        moving_files=True, busy_by="run-1", busy_until=timezone.now() + timedelta(seconds=60)
    )

    step = exchange_files_lay_out(exchange_import_id=waiting.pk, claimant="run-2")

    assert (step.done, step.busy) == (False, True)
    assert not (exchange_dirs / "import_1c" / "goods").exists()
    # The first run died: its claim lapses, and with it its turn.
    Exchange1C.objects.filter(pk=moving.exchange_id).update(busy_until=timezone.now() - timedelta(seconds=1))

    assert exchange_files_lay_out(exchange_import_id=waiting.pk, claimant="run-2").done
    assert (exchange_dirs / "import_1c" / "goods" / "goods.xml").read_text() == "second"
    assert not Exchange1C.objects.filter(moving_files=True).exists()  # the turn is given back


def test_a_wait_on_an_exchange_that_only_talks_is_no_cycle(exchange_dirs):
    # Newer 1C sends each file in an exchange of its own. User one's first exchange laid out
    # goods/goods.xml (its import ended; its 1C still talks); user two's exchange laid out
    # rests/rests.xml and waits for that goods.xml; user one's next exchange needs rests.xml.
    # The first exchange lets go after QUIET_SECONDS: a wait, not a cycle, so nobody gives way.
    one, two = User.objects.create_user("one"), User.objects.create_user("two")
    now = timezone.now()

    def exchange(user, **fields):
        return Exchange1C.objects.create(user=user, exchange_type=Exchange1C.Type.CATALOG, token=uuid.uuid4().hex, **fields)

    first = exchange(one, last_request_at=now - timedelta(seconds=10))
    ExchangeFile.objects.create(exchange=first, name="goods/goods.xml", path="goods/goods.xml", placed_at=now)
    ExchangeImport.objects.create(exchange=first, filename="goods/goods.xml", path="goods/goods.xml",
                                  status=ExchangeImport.Status.COMPLETED)
    theirs = exchange(two, last_request_at=now)
    ExchangeFile.objects.create(exchange=theirs, name="rests/rests.xml", path="rests/rests.xml", placed_at=now)
    ExchangeFile.objects.create(exchange=theirs, name="goods/goods.xml", path="goods/goods.xml")
    waiting = ExchangeImport.objects.create(exchange=theirs, filename="goods/goods.xml", path="goods/goods.xml",
                                            waiting_for=first)
    second = exchange(one, last_request_at=timezone.now())
    staged = exchange_staging_root(second.pk) / "rests" / "rests.xml"
    staged.parent.mkdir(parents=True)
    staged.write_text("one")
    ExchangeFile.objects.create(exchange=second, name="rests/rests.xml", path="rests/rests.xml", size=3)
    mine = ExchangeImport.objects.create(exchange=second, filename="rests/rests.xml", path="rests/rests.xml")

    step = exchange_files_lay_out(exchange_import_id=mine.pk, claimant="run-second")

    assert (step.done, step.wait_for_exchange) == (False, theirs.pk)
    assert ExchangeImport.objects.get(pk=mine.pk).status == ExchangeImport.Status.PREPARING
    assert ExchangeImport.objects.get(pk=waiting.pk).status == ExchangeImport.Status.PREPARING
    assert not Exchange1C.objects.filter(gave_way_at__isnull=False).exists()


def test_a_file_sent_again_after_another_user_replaced_it_is_what_deactivate_goes_by():
    # User one's first exchange laid out goods.xml; user two's replaced it; user one's next
    # exchange (the same full exchange, newer 1C) sent it again, as it was told to.
    one, two = User.objects.create_user("one"), User.objects.create_user("two")
    start = timezone.now() - timedelta(minutes=10)

    def placed(user, minutes: int) -> Exchange1C:
        exchange = Exchange1C.objects.create(
            user=user, exchange_type=Exchange1C.Type.CATALOG, token=uuid.uuid4().hex,
            last_request_at=start + timedelta(minutes=minutes),
        )
        Exchange1C.objects.filter(pk=exchange.pk).update(created_at=start + timedelta(minutes=minutes))
        ExchangeFile.objects.create(exchange=exchange, name="goods/goods.xml", path="goods/goods.xml",
                                    placed_at=start + timedelta(minutes=minutes))
        return Exchange1C.objects.get(pk=exchange.pk)

    placed(one, 0)
    theirs = placed(two, 1)
    assert exchange_batch_xml_replaced(exchange=Exchange1C.objects.filter(user=one).get()).exchange_id == theirs.pk
    again = placed(one, 2)

    assert exchange_batch_xml_replaced(exchange=again) is None
