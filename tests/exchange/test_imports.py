"""`import` against the test Prefect server's deployments: the preparation runs the polls
ask for run in this process (tests/exchange/conftest.py's worker), the import runs they
start find no worker: the test plays its part by moving the sessions along, and checks
what 1C is told at each step, which runs start, that they wait for the running slot,
and that nothing sent is lost."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from prefect.client.orchestration import get_client
from prefect.states import Cancelled, Crashed

from apps.imports.import_types import import_type_spec
from apps.imports.models import ImportSession
from apps.onec_exchange.models import Exchange1C, ExchangeImport
from apps.onec_exchange.services import runs as exchange_runs
from apps.onec_exchange.services.layout import QUIET_SECONDS
from apps.imports.services.sessions import (
    import_session_attach_flow_run,
    import_session_create,
    import_session_fail,
    import_session_finish,
    import_session_start,
    import_session_update_report,
)
from apps.products.models import Product
from tests.admin.conftest import flow_runs_of
from tests.exchange.client_1c import OneC, django_client_transport, zip_bytes
from tests.exchange.conftest import PASSWORD, grant_exchange
from commerceml import writer as cml

# The preparation runs run in threads of their own (with their own database connections).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("deployments", "in_english")]  # English answers
# What 1C hears while the preparation run is on its way or between two steps.
# The preparation run's own steps (a busy Prefect server may answer a poll before the run exists).
PREPARING = (
    "handing the import to Prefect", "waiting for a worker to prepare the import", "moving files into",
    "waiting for another exchange moving its files", "unpacking ", "starting the next import",
)


def _answer(onec: OneC, filename: str | None = None, *, until=None, seconds: float = 60) -> list[str]:
    """Poll `import` of `filename` (or `deactivate`) until the answer says more than that
    the preparation run is on its way (or until `until(answer)`)."""
    mode, params = ("import", {"filename": filename}) if filename else ("deactivate", {})
    deadline = time.monotonic() + seconds
    while True:
        answer = onec.request(mode, **params)
        if until(answer) if until else not (answer[0] == "progress" and any(text in answer[1] for text in PREPARING)):
            return answer
        assert time.monotonic() < deadline, f"{mode} {filename}: still {answer}"
        time.sleep(0.05)

GUID = "0a1b2c3d-0000-0000-0000-000000000001"
PICTURE = f"import_files/0a/{GUID}_1.jpg"
WRITER = cml.CommerceMLWriter()
GOODS = WRITER.goods([cml.Goods(GUID, "Мяч", pictures=[PICTURE])])
OFFERS = WRITER.offers([cml.Offer(GUID, "Мяч")])
FILES = {"goods/goods.xml": GOODS, "offers/offers.xml": OFFERS, f"goods/{PICTURE}": b"\xff\xd8\xff\xe0 a jpeg"}


def _run(session: ImportSession, **report) -> None:
    """What the worker's flow does with a session: start it, record, complete it."""
    import_session_start(session_id=session.pk)
    import_session_update_report(session_id=session.pk, **report)
    import_session_finish(session_id=session.pk)


def _wait_for_session(import_type: str, *, newer_than: int = 0) -> ImportSession:
    """The session of this type the preparation run starts (newer than `newer_than`)."""
    deadline = time.monotonic() + 60
    while (session := ImportSession.objects.filter(import_type=import_type, pk__gt=newer_than).last()) is None:
        assert time.monotonic() < deadline, f"no {import_type} run started"
        time.sleep(0.05)
    return session


def _send_zip(onec: OneC, files=FILES) -> None:
    onec.checkauth()
    onec.init()
    for answer in onec.send_file("exchange.zip", zip_bytes(files)):
        assert answer == ["success"]


def test_goods_run_the_catalog_then_the_images_and_success_comes_only_at_the_end(onec, exchange_user, exchange_dirs, deployments):
    _send_zip(onec)

    first = _answer(onec, "goods/goods.xml")

    catalog = ImportSession.objects.get()
    assert first == ["progress", f"«Product catalog» #{catalog.pk}: waiting for a worker to pick the run up"]
    assert (catalog.import_type, catalog.started_by, catalog.started_by_user) == ("catalog", "exchange", exchange_user)
    (run,) = flow_runs_of(deployments["catalog"])
    assert run.parameters == {"data_dir": str(exchange_dirs / "import_1c"), "session_id": catalog.pk, "remove_absent": False}
    data = exchange_dirs / "import_1c"
    assert (data / "goods" / "goods.xml").read_bytes() == GOODS
    assert (data / "goods" / PICTURE).read_bytes() == FILES[f"goods/{PICTURE}"]
    assert (data / "offers" / "offers.xml").read_bytes() == OFFERS

    import_session_start(session_id=catalog.pk)
    import_session_update_report(session_id=catalog.pk, total_files=2, processed=1)
    assert onec.request("import", filename="goods/goods.xml") == ["progress", f"«Product catalog» #{catalog.pk}: 1 of 2 files"]
    Product.objects.create(onec_id=GUID, name="Мяч")  # what the catalog run wrote
    import_session_update_report(session_id=catalog.pk, processed=2, created=1, updated=0, errors=0)
    import_session_finish(session_id=catalog.pk)

    assert _answer(onec, "goods/goods.xml", until=lambda answer: "«Product images»" in answer[1])[0] == "progress"
    images = ImportSession.objects.get(import_type="images")
    assert images.started_by == "exchange"
    _run(images, copied=1, skipped=0, errors=0)

    assert onec.import_file("goods/goods.xml") == [
        "success",
        f"«Product catalog» #{catalog.pk}: Goods: created — 1, Goods: updated — 0, Records with errors — 0",
        f"«Product images» #{images.pk}: Files copied — 1, Files skipped: already up to date — 0, Files with errors — 0",
    ]
    # offers.xml was laid out before the catalog run began: that run read it, none starts again.
    assert onec.import_file("offers/offers.xml")[0] == "success"
    assert ImportSession.objects.filter(import_type="catalog").count() == 1
    record = ExchangeImport.objects.get(path="offers/offers.xml")
    assert list(record.sessions.all()) == [catalog]


def test_a_failed_import_is_answered_failure_with_its_reason(onec, exchange_dirs):
    _send_zip(onec)
    _answer(onec, "goods/goods.xml")
    catalog = ImportSession.objects.get()
    import_session_start(session_id=catalog.pk)
    import_session_fail(session_id=catalog.pk, error_message="goods.xml: line 1, column 5: malformed XML")

    answer = onec.import_file("goods/goods.xml")

    assert answer == ["failure", f"«Product catalog» #{catalog.pk} failed: goods.xml: line 1, column 5: malformed XML"]
    assert onec.import_file("goods/goods.xml") == answer  # asked again, the same truth
    assert not ImportSession.objects.filter(import_type="images").exists()


def test_an_exchange_waits_while_an_admin_import_runs(onec, exchange_dirs):
    admin_run = import_session_create(import_type="images", started_by="admin")
    _send_zip(onec)

    answers = [_answer(onec, "goods/goods.xml") for _ in range(2)]

    assert answers == [["progress", f"waiting for import #{admin_run.pk} ({admin_run}) before laying the files out"]] * 2
    assert list(ImportSession.objects.all()) == [admin_run]
    # The admin's run reads the exchange directory: nothing is moved into it meanwhile.
    assert not any(p.is_file() for p in (exchange_dirs / "import_1c").rglob("*"))
    import_session_fail(session_id=admin_run.pk, error_message="stopped")

    assert _answer(onec, "goods/goods.xml", until=lambda answer: "«Product catalog»" in answer[1])[0] == "progress"
    assert (exchange_dirs / "import_1c" / "goods" / "goods.xml").read_bytes() == GOODS
    assert ImportSession.objects.get(import_type="catalog").started_by == "exchange"


def test_two_exchanges_at_once_take_turns(onec, exchange_dirs, client):
    other = OneC(django_client_transport(client), "other", PASSWORD)
    grant_exchange(User.objects.create_user("other", password=PASSWORD))
    Product.objects.create(onec_id=GUID, name="Мяч")
    _send_zip(onec)
    other.checkauth()
    other.init()
    other.send_file("rests/rests.xml", WRITER.offers([]))

    _answer(onec, "goods/goods.xml")
    catalog = ImportSession.objects.get()
    waiting = _answer(other, "rests/rests.xml")

    assert waiting == ["progress", f"waiting for import #{catalog.pk} ({catalog}) before laying the files out"]
    assert not (exchange_dirs / "import_1c" / "rests").exists()
    _run(catalog, created=1)
    # The images of the goods and the stocks of the other exchange: one runs, the other waits for it.
    deadline = time.monotonic() + 60
    while not ImportSession.objects.filter(import_type__in=["images", "stocks"]).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first = ImportSession.objects.get(import_type__in=["images", "stocks"])
    if first.import_type == "images":
        # The other's stocks wait for it; or, when the images began before the rests were laid
        # out, the rests wait: nothing is laid out while an import reads the exchange directory.
        waiter, name, waits = other, "rests/rests.xml", {
            f"«Stocks»: waiting for import #{first.pk} ({first})",
            f"waiting for import #{first.pk} ({first}) before laying the files out",
        }
    else:  # the goods were laid out for the catalog: only their images wait
        waiter, name, waits = onec, "goods/goods.xml", {f"«Product images»: waiting for import #{first.pk} ({first})"}
    assert _answer(waiter, name, until=lambda answer: f"#{first.pk} (" in answer[1])[1] in waits
    _run(first)
    stocks = _wait_for_session("stocks")
    assert stocks.started_by_user.username == "other"


def _other_user(client) -> OneC:
    grant_exchange(User.objects.create_user("other", password=PASSWORD))
    other = OneC(django_client_transport(client), "other", PASSWORD)
    other.checkauth()
    other.init()
    return other


def _goods_imported(onec: OneC) -> None:
    """This 1C sent goods/goods.xml and its import succeeded; the exchange stays open."""
    onec.checkauth()
    onec.init()
    onec.send_file("goods/goods.xml", GOODS)
    _answer(onec, "goods/goods.xml")
    Product.objects.create(onec_id=GUID, name="Мяч")  # what the catalog run wrote
    _run(_wait_for_session("catalog"), created=1)  # no pictures: the images are not run
    assert onec.import_file("goods/goods.xml")[0] == "success"


def test_another_users_exchange_waits_until_this_one_is_done_with_the_file_it_would_replace(onec, exchange_dirs, client):
    _goods_imported(onec)
    theirs = WRITER.goods([cml.Goods("0a1b2c3d-0000-0000-0000-0000000000ff", "Ракетка")])
    other = _other_user(client)
    other.send_file("goods/goods.xml", theirs)
    mine = Exchange1C.objects.get(user__username="onec")

    # 1C is still talking (it may ask for another file's import): its goods.xml stays.
    waiting = [_answer(other, "goods/goods.xml") for _ in range(2)]

    assert waiting == [["progress", f"waiting for 1C exchange #{mine.pk} (onec): its goods/goods.xml is not imported "
                                    "yet, and this exchange's file would replace it"]] * 2
    assert (exchange_dirs / "import_1c" / "goods" / "goods.xml").read_bytes() == GOODS
    assert ImportSession.objects.count() == 1
    assert onec.complete() == ["success"]
    assert _answer(other, "goods/goods.xml", until=lambda answer: "«Product catalog»" in answer[1])[0] == "progress"
    assert (exchange_dirs / "import_1c" / "goods" / "goods.xml").read_bytes() == theirs
    assert ImportSession.objects.latest("pk").started_by_user.username == "other"


@pytest.mark.parametrize("last_to_ask", ["later exchange", "earlier exchange"])
def test_two_exchanges_waiting_for_each_others_files_the_later_gives_way(onec, exchange_dirs, client, last_to_ask):
    # This 1C laid out goods/goods.xml, the other rests/rests.xml; each then sends the other's file.
    mine_rests, their_rests = OFFERS, WRITER.offers([])
    theirs_goods = WRITER.goods([cml.Goods("0a1b2c3d-0000-0000-0000-0000000000ff", "Ракетка")])
    _goods_imported(onec)
    other = _other_user(client)
    other.send_file("rests/rests.xml", their_rests)
    _answer(other, "rests/rests.xml", until=lambda answer: "«Stocks»" in answer[1])
    _run(_wait_for_session("stocks"))
    assert _answer(other, "rests/rests.xml", until=lambda answer: answer[0] != "progress")[0] == "success"
    mine, theirs = Exchange1C.objects.get(user__username="onec"), Exchange1C.objects.get(user__username="other")
    onec.send_file("rests/rests.xml", mine_rests)
    other.send_file("goods/goods.xml", theirs_goods)
    asks = {
        "later exchange": lambda: _answer(other, "goods/goods.xml", until=lambda answer: answer[0] != "progress"),
        "earlier exchange": lambda: _answer(onec, "rests/rests.xml", until=lambda answer: "«Stocks»" in answer[1]),
    }
    waiter = (onec, "rests/rests.xml") if last_to_ask == "later exchange" else (other, "goods/goods.xml")
    assert _answer(*waiter)[1].startswith("waiting for 1C exchange #")

    answers = {who: asks[who]() for who in sorted(asks, key=lambda who: who != last_to_ask)}  # the last to ask first
    gave_way, going_on = answers["later exchange"], answers["earlier exchange"]

    assert gave_way == ["failure", f"goods/goods.xml: 1C exchange #{mine.pk} (onec) and this one each wait for a file "
                                   f"the other laid out, so this later exchange gave way: run the exchange again once "
                                   f"#{mine.pk} has finished"]
    assert going_on[0] == "progress"
    data = exchange_dirs / "import_1c"
    assert (data / "rests" / "rests.xml").read_bytes() == mine_rests
    assert (data / "goods" / "goods.xml").read_bytes() == GOODS  # theirs was never laid out
    assert Exchange1C.objects.get(pk=theirs.pk).gave_way_at is not None
    assert ExchangeImport.objects.get(exchange=theirs, path="goods/goods.xml").sessions.count() == 0


def test_a_file_another_users_exchange_replaced_is_answered_failure_not_their_success(onec, exchange_dirs, client):
    onec.checkauth()
    onec.init()
    onec.send_file("goods/goods.xml", GOODS)
    onec.send_file("rests/rests.xml", WRITER.offers([]))
    _answer(onec, "goods/goods.xml")
    Product.objects.create(onec_id=GUID, name="Мяч")
    _run(_wait_for_session("catalog"), created=1)
    assert onec.import_file("goods/goods.xml")[0] == "success"
    # 1C fell quiet without `complete`: after QUIET_SECONDS the others go on.
    mine = Exchange1C.objects.get(user__username="onec")
    Exchange1C.objects.filter(pk=mine.pk).update(last_request_at=mine.last_request_at - timedelta(seconds=QUIET_SECONDS + 1))
    other = _other_user(client)
    other.send_file("rests/rests.xml", WRITER.offers([]))
    assert _answer(other, "rests/rests.xml", until=lambda answer: "«Stocks»" in answer[1])[0] == "progress"
    theirs = Exchange1C.objects.get(user__username="other")

    answer = onec.import_file("rests/rests.xml")

    assert answer == ["failure", f"rests/rests.xml was replaced in the exchange directory by 1C exchange #{theirs.pk} "
                                 "(other) before it was imported: send it again"]
    assert not ExchangeImport.objects.get(exchange=mine, path="rests/rests.xml").sessions.exists()


def test_per_file_sessions_keep_what_earlier_sessions_sent(onec, exchange_dirs):
    # The picture in a session of its own, then the goods in another: init never wipes it.
    for name in (PICTURE, "goods/goods.xml"):
        onec.checkauth()
        onec.init()
        onec.send_file(name, FILES[f"goods/{PICTURE}"] if name == PICTURE else GOODS)

    assert _answer(onec, "goods/goods.xml")[0] == "progress"
    data = exchange_dirs / "import_1c"
    assert (data / "goods" / PICTURE).is_file() and (data / "goods" / "goods.xml").is_file()
    assert Exchange1C.objects.count() == 2


def test_a_later_exchange_replaces_the_folder_of_a_closed_one(onec, exchange_dirs):
    onec.checkauth()
    onec.init()
    onec.send_file(f"goods/goods_1_1_{GUID}.xml", GOODS)
    _answer(onec, f"goods/goods_1_1_{GUID}.xml")
    _run(ImportSession.objects.get(), created=1)
    Product.objects.create(onec_id=GUID, name="Мяч")
    answer = onec.import_file(f"goods/goods_1_1_{GUID}.xml")
    assert answer[0] == "success"
    assert answer[2].startswith("«Product images» not run: image directory") and "does not exist" in answer[2]
    assert onec.complete() == ["success"]
    (exchange_dirs / "import_1c" / "goods" / "by_hand.xml").write_bytes(GOODS)

    onec.checkauth()
    onec.init()
    onec.send_file("goods/goods_1_1_new.xml", GOODS)
    _answer(onec, "goods/goods_1_1_new.xml")

    assert sorted(p.name for p in (exchange_dirs / "import_1c" / "goods").glob("*.xml")) == ["goods_1_1_new.xml"]
    aside = list((exchange_dirs / "staging" / "superseded").rglob("by_hand.xml"))
    assert len(aside) == 1  # not sent over HTTP: moved aside, not deleted


def test_the_exchange_log_in_the_admin(onec, exchange_user, exchange_dirs, client):
    _send_zip(onec)
    _answer(onec, "goods/goods.xml")
    onec.password = "wrong"
    onec.checkauth()
    exchange, catalog = Exchange1C.objects.get(), ImportSession.objects.get()
    client.force_login(User.objects.create_superuser("admin", password="pw"))

    listing = client.get("/admin/onec_exchange/exchange1c/").content.decode()
    page = client.get(f"/admin/onec_exchange/exchange1c/{exchange.pk}/change/").content.decode()
    failures = client.get("/admin/access/loginfailure/").content.decode()
    # The log's addresses from before the exchange became an app of its own lead to it.
    old = client.get(f"/admin/integrations/exchange1c/{exchange.pk}/change/?_changelist_filters=x")
    assert old.status_code == 301
    assert old["Location"] == f"/admin/onec_exchange/exchange1c/{exchange.pk}/change/?_changelist_filters=x"
    # The refused logins were the exchange's before the admin's login shared their lock-out.
    for old_failures in ("/admin/integrations/exchangeauthfailure/", "/admin/onec_exchange/exchangeauthfailure/"):
        followed = client.get(old_failures, follow=True)
        assert followed.redirect_chain == [("/admin/access/loginfailure/", 301)]
        assert "wrong user name or password" in followed.content.decode()

    assert "onec" in listing and "127.0.0.1" in listing and "goods/goods.xml: Running" in listing
    assert "exchange.zip" in page and f"exchange.zip: goods/{PICTURE}" in page
    assert f'/admin/integrations/importsession/{catalog.pk}/change/">#{catalog.pk}</a> Pending' in page
    assert "wrong user name or password" in failures and "1C exchange" in failures


def test_a_slow_prefect_never_holds_an_answer_up(onec, exchange_dirs, monkeypatch):
    real_launch = exchange_runs.import_session_launch

    def slow_launch(**kwargs):
        time.sleep(2)
        return real_launch(**kwargs)

    monkeypatch.setattr(exchange_runs, "import_session_launch", slow_launch)
    _send_zip(onec)

    answer = _answer(onec, "goods/goods.xml")

    catalog = ImportSession.objects.get()
    assert answer == ["progress", f"«Product catalog» #{catalog.pk}: waiting for a worker to pick the run up"]
    assert len(onec.answers) > 4  # polls were answered while the run was being started
    assert onec.slowest_import_answer < 1.5, f"an import poll took {onec.slowest_import_answer:.1f} s"


def test_exchange_runs_never_remove_what_is_absent_until_deactivate(onec, exchange_dirs, deployments):
    # Part 1 of a multi-part full exchange must not deactivate the goods of parts 2..N:
    # the exchange's runs keep what is absent; deactivate runs them again to remove it.
    onec.checkauth()
    onec.init()
    onec.send_file(f"goods/goods_1_1_{GUID}.xml", GOODS)
    _answer(onec, f"goods/goods_1_1_{GUID}.xml")
    catalog = ImportSession.objects.get()
    (run,) = flow_runs_of(deployments["catalog"])
    assert run.parameters["remove_absent"] is False
    _run(catalog, created=1)
    Product.objects.create(onec_id=GUID, name="Мяч")
    assert onec.import_file(f"goods/goods_1_1_{GUID}.xml")[0] == "success"

    first = _answer(onec)

    again = ImportSession.objects.filter(import_type="catalog").exclude(pk=catalog.pk).get()
    assert first == ["progress", f"«Product catalog» #{again.pk}: waiting for a worker to pick the run up"]
    assert {r.parameters["session_id"]: r.parameters.get("remove_absent") for r in flow_runs_of(deployments["catalog"])} == {
        catalog.pk: False, again.pk: True,
    }
    assert Exchange1C.objects.get().closed_at is None
    _run(again, created=0, updated=1)
    answer = onec.deactivate()
    assert answer[0] == "success" and answer[1].startswith(f"«Product catalog» #{again.pk}:")
    assert onec.complete() == ["success"]  # in the same session: deactivate left it open
    assert Exchange1C.objects.get().closed_at is not None


def test_deactivate_after_another_users_exchange_replaced_this_ones_goods_removes_nothing(onec, exchange_dirs, client):
    # 1C fell quiet after its goods' import; another user's goods.xml took their place; then
    # this 1C asks for deactivate: run on the other's goods it would deactivate this 1C's.
    _goods_imported(onec)
    mine = Exchange1C.objects.get(user__username="onec")
    Exchange1C.objects.filter(pk=mine.pk).update(last_request_at=mine.last_request_at - timedelta(seconds=QUIET_SECONDS + 1))
    other = _other_user(client)
    other.send_file("goods/goods.xml", WRITER.goods([cml.Goods("0a1b2c3d-0000-0000-0000-0000000000ff", "Ракетка")]))
    assert _answer(other, "goods/goods.xml", until=lambda answer: "«Product catalog»" in answer[1])[0] == "progress"
    theirs = Exchange1C.objects.get(user__username="other")

    answer = _answer(onec)

    assert answer == ["failure", f"deactivate not run: goods/goods.xml, which this exchange sent, was replaced in the "
                                 f"exchange directory by 1C exchange #{theirs.pk} (other), so what this exchange lacks "
                                 "cannot be told: run the full exchange again"]
    assert not ImportSession.objects.filter(parameters__remove_absent=True).exists()


def _end_in_prefect(flow_run_id, state) -> None:
    """What a dead worker or a cancel in Prefect's UI leaves: the run ended, our session not."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, state, force=True)


def test_a_run_that_crashed_in_prefect_is_answered_failure_not_progress(onec, exchange_dirs):
    _send_zip(onec)
    assert _answer(onec, "goods/goods.xml")[0] == "progress"
    catalog = ImportSession.objects.get()
    import_session_start(session_id=catalog.pk)
    _end_in_prefect(catalog.flow_run_id, Crashed(message="Flow run infrastructure exited with non-zero status code -9."))

    answer = onec.import_file("goods/goods.xml")

    assert answer[0] == "failure", answer
    assert answer[1].startswith(f"«Product catalog» #{catalog.pk} failed: Prefect flow run ")
    assert "ended crashed: Flow run infrastructure exited with non-zero status code -9." in answer[1]
    catalog.refresh_from_db()
    assert catalog.status == "failed" and catalog.running_slot is None
    assert ExchangeImport.objects.get().status == "failed"


def test_an_exchange_waiting_for_a_run_cancelled_in_prefect_goes_on(onec, exchange_dirs, deployments):
    admin_run = import_session_create(import_type="images", started_by="admin")
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run_from_deployment(deployments["images"], parameters={"session_id": admin_run.pk})
    import_session_attach_flow_run(session_id=admin_run.pk, flow_run_id=flow_run.id)
    _send_zip(onec)
    waiting = _answer(onec, "goods/goods.xml")
    assert waiting == ["progress", f"waiting for import #{admin_run.pk} ({admin_run}) before laying the files out"]
    _end_in_prefect(flow_run.id, Cancelled(message="cancelled in the UI"))

    answer = _answer(onec, "goods/goods.xml", until=lambda answer: "«Product catalog»" in answer[1])

    catalog = ImportSession.objects.get(import_type="catalog")
    assert answer == ["progress", f"«Product catalog» #{catalog.pk}: waiting for a worker to pick the run up"]
    assert ImportSession.objects.get(pk=admin_run.pk).status == "cancelled"


def test_a_file_sent_again_after_its_import_is_imported_again(onec, exchange_dirs):
    name = f"goods/goods_1_1_{GUID}.xml"
    onec.checkauth()
    onec.init()
    onec.send_file(name, GOODS)
    _answer(onec, name)
    first = ImportSession.objects.get()
    import_session_start(session_id=first.pk)
    import_session_fail(session_id=first.pk, error_message="goods_1_1.xml: line 1, column 5: malformed XML")
    assert onec.import_file(name)[0] == "failure"

    renamed = GOODS.replace("Мяч".encode(), "Мяч футбольный".encode())
    onec.send_file(name, renamed)  # 1C's retry, in the same exchange
    answer = _answer(onec, name)

    again = ImportSession.objects.exclude(pk=first.pk).get()
    assert answer == ["progress", f"«Product catalog» #{again.pk}: waiting for a worker to pick the run up"]
    assert (exchange_dirs / "import_1c" / name).read_bytes() == renamed
    _run(again, created=1, updated=0, errors=0)
    Product.objects.create(onec_id=GUID, name="Мяч футбольный")
    answer = onec.import_file(name)
    assert answer[0] == "success" and answer[1].startswith(f"«Product catalog» #{again.pk}: Goods: created — 1")
    record = ExchangeImport.objects.get()
    assert list(record.sessions.all()) == [again] and record.status == "completed"


WRITER_2X = cml.CommerceMLWriter(schema_version="2.08", namespace=False)  # older 1C: no namespace
OFFERS_2X = WRITER_2X.offers_2x(offers=[cml.Offer(GUID, "Мяч")])
IMPORT_2X = WRITER_2X.import_2x(goods=[cml.Goods(GUID, "Мяч")])


def test_a_2x_offers_file_sent_alone_runs_the_catalog_then_stocks_and_prices(onec, exchange_dirs):
    # Newer 1C: import.xml in one exchange, its run ends; offers.xml in the next exchange.
    onec.checkauth()
    onec.init()
    onec.send_file("import.xml", IMPORT_2X)
    _answer(onec, "import.xml")
    _run(ImportSession.objects.get(import_type="catalog"), created=1)
    Product.objects.create(onec_id=GUID, name="Мяч")
    assert onec.import_file("import.xml")[0] == "success"

    onec.checkauth()
    onec.init()
    onec.send_file("offers.xml", OFFERS_2X)
    answers = [_answer(onec, "offers.xml")]
    for import_type, label in (("catalog", "«Product catalog»"), ("stocks", "«Stocks»"), ("prices", "«Prices»")):
        _answer(onec, "offers.xml", until=lambda answer, label=label: answer[1].startswith(label))
        _run(ImportSession.objects.filter(import_type=import_type).latest("pk"))
    answers.append(onec.import_file("offers.xml"))

    offers_catalog = ImportSession.objects.filter(import_type="catalog").latest("pk")
    assert ImportSession.objects.filter(import_type="catalog").count() == 2
    assert answers[0] == ["progress", f"«Product catalog» #{offers_catalog.pk}: waiting for a worker to pick the run up"]
    assert answers[-1][0] == "success"
    assert [line.split(" #")[0] for line in answers[-1][1:]] == ["«Product catalog»", "«Stocks»", "«Prices»"]


def _work(session: ImportSession) -> dict:
    """What the worker does with a session's run: the real flow, here in the test's process."""
    import_type_spec(session.import_type).load_flow()(session_id=session.pk, **session.parameters)
    session.refresh_from_db()
    assert session.status == "completed", session.error_message
    return session.report_details


def test_a_files_run_reads_only_the_parts_no_earlier_run_read(onec, exchange_dirs):
    parts = {
        f"goods/goods_1_{n}_{GUID}.xml": WRITER.goods([cml.Goods(f"g{n}", f"Мяч {n}")])
        for n in (1, 2, 3)
    }
    reports = []
    for name, data in parts.items():  # newer 1C: an exchange for each part
        onec.checkauth()
        onec.init()
        onec.send_file(name, data)
        _answer(onec, name)
        reports.append(_work(ImportSession.objects.filter(import_type="catalog").latest("pk")))
        assert onec.import_file(name)[0] == "success"

    assert [(r["total_files"], r["created"], r["updated"]) for r in reports] == [(1, 1, 0)] * 3
    assert sorted(Product.objects.filter(is_active=True).values_list("name", flat=True)) == ["Мяч 1", "Мяч 2", "Мяч 3"]
    # A part sent again is read again; deactivate's run, which removes what is absent, reads every part.
    onec.checkauth()
    onec.send_file(f"goods/goods_1_1_{GUID}.xml", parts[f"goods/goods_1_1_{GUID}.xml"].replace("Мяч 1".encode(), "Мяч".encode()))
    _answer(onec, f"goods/goods_1_1_{GUID}.xml")
    again = _work(ImportSession.objects.filter(import_type="catalog").latest("pk"))
    assert (again["total_files"], again["updated"]) == (1, 1)
    _answer(onec)
    removal = ImportSession.objects.filter(import_type="catalog").latest("pk")
    assert removal.parameters["remove_absent"] is True
    assert _work(removal)["total_files"] == 3
