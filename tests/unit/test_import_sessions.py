"""ImportSession state transitions, the one-import-at-a-time rule, chunk accounting."""
import pytest
from django.utils import translation

from apps.i18n.messages import Message, message_of
from apps.imports.exceptions import IllegalTransitionError, ImportAlreadyRunningError
from apps.imports.models import ImportSession
from apps.imports.services.sessions import (
    import_session_complete,
    import_session_create,
    import_session_fail,
    import_session_finish,
    import_session_record_chunk,
    import_session_settle,
    import_session_start,
    import_session_update_report,
    import_step_failure,
)
from apps.media.exceptions import MediaStorageUnavailableError

pytestmark = pytest.mark.django_db


def _create(**kwargs):
    return import_session_create(import_type="images", started_by="cli", **kwargs)


def test_lifecycle_sets_times_and_frees_the_slot():
    session = _create(parameters={"validate_images": True})
    assert (session.status, session.running_slot) == ("pending", True)

    import_session_start(session_id=session.pk)
    done = import_session_complete(session_id=session.pk)

    assert done.status == "completed" and done.running_slot is None
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at
    _create()  # the slot is free again


def test_second_import_is_refused_while_one_is_active():
    first = _create()
    with pytest.raises(ImportAlreadyRunningError, match=f"session #{first.pk}"):
        _create()
    import_session_fail(session_id=first.pk, error_message="boom")
    assert _create().status == "pending"


@pytest.mark.parametrize(
    "end",
    [
        import_session_complete,
        # How the admin and Prefect's cancellation hook end a session (import_run_cancel).
        lambda session_id: import_session_settle(session_id=session_id, status="cancelled", error_message="x"),
    ],
)
def test_ended_sessions_cannot_change(end):
    session = _create()
    import_session_start(session_id=session.pk)
    end(session_id=session.pk)
    with pytest.raises(IllegalTransitionError):
        import_session_fail(session_id=session.pk, error_message="late")
    with pytest.raises(IllegalTransitionError):
        import_session_complete(session_id=_create().pk)  # pending cannot complete


def test_settle_keeps_the_first_outcome():
    session = _create()
    import_session_fail(session_id=session.pk, error_message="the precise reason")
    assert import_session_settle(session_id=session.pk, status="failed", error_message="generic") is None
    assert ImportSession.objects.get(pk=session.pk).error_message == "the precise reason"


def test_retried_chunk_is_not_counted_twice():
    session = _create()
    import_session_start(session_id=session.pk)
    first_try = {"processed": 100, "copied": 40, "skipped": 0, "errors": 1}
    retry = {"processed": 100, "copied": 0, "skipped": 40, "errors": 1}
    other = {"processed": 50, "copied": 5, "skipped": 5, "errors": 0, "products_without_images": 2}

    def record(index, counters):
        return import_session_record_chunk(
            session_id=session.pk, chunk_index=index, counters=counters, error_details=[{"file": "a"}]
        )

    record(0, first_try)
    record(1, other)
    report = record(0, retry)

    assert {k: report.count(k) for k in ("processed", "copied", "skipped", "errors", "products_without_images", "chunks_done")} == {
        "processed": 150, "copied": 5, "skipped": 45, "errors": 1, "products_without_images": 2, "chunks_done": 2,
    }
    assert "last_updated" in report.details


def test_a_run_whose_chunks_did_not_all_record_is_not_a_success():
    """A chunk that ran elsewhere (a shard host with another DATABASE_URL) never records
    here: finishing the run must not call that completed."""
    session = _create()
    import_session_start(session_id=session.pk)
    import_session_update_report(session_id=session.pk, chunks_total=3, chunks_done=0, total_products=30)
    for index in (0, 1):
        import_session_record_chunk(session_id=session.pk, chunk_index=index, counters={"processed": 10}, error_details=[])

    ended = import_session_finish(session_id=session.pk)

    assert ended.status == "failed"
    assert ended.error_message.startswith("only 2 of 3 chunks were recorded: the others ended without importing.")
    assert "the same DATABASE_URL" in ended.error_message


def test_failed_steps_are_named_with_their_kind_and_total():
    session = _create()
    import_session_start(session_id=session.pk)
    import_session_update_report(session_id=session.pk, shards_total=2, chunks_total=4)

    ended = import_session_finish(
        session_id=session.pk, failed_steps=[{"kind": "shard", "step": "shard 1", "reason": "Crashed: host died"}]
    )

    assert ended.status == "failed"
    assert ended.error_message.startswith("1 of 2 shards failed after retries (shard 1: Crashed: host died).")


def test_failed_steps_read_in_the_sites_language_with_their_reasons():
    """As the flows record them (import_step_failure): a chunk that failed on the media
    storage's outage, its reason a message, and one whose reason is plain text."""
    session = _create()
    import_session_start(session_id=session.pk)
    import_session_update_report(session_id=session.pk, chunks_total=4)
    outage = MediaStorageUnavailableError(Message(
        "%(storage)s does not answer (%(error)s)",
        storage=Message("S3 bucket %(bucket)s at %(endpoint)s", bucket="'media'", endpoint="http://s3.local"),
        error="connection refused",
    ))
    failed = [
        import_step_failure(kind="chunk", index=1, reason=message_of(outage)),
        import_step_failure(kind="chunk", index=3, reason="Crashed: host died"),
    ]

    ended = import_session_finish(session_id=session.pk, failed_steps=failed)

    assert ended.error_message.startswith(
        "2 of 4 chunks failed after retries (chunk 1: S3 bucket 'media' at http://s3.local does not answer "
        "(connection refused); chunk 3: Crashed: host died)."
    )
    with translation.override("ru"):
        assert ended.error_message_text.startswith(
            "2 из 4 частей не выполнены после повторов (часть 1: бакет S3 'media' на http://s3.local не отвечает "
            "(connection refused); часть 3: Crashed: host died)."
        )
