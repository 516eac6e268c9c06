"""Starting an import from the page: one session, one Prefect run, one at a time."""
import contextvars
import html
import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from django.test import Client
from prefect.client.orchestration import get_client
from prefect.states import Cancelled

from apps.imports.models import ImportSession
from apps.imports.prefect_api.runs import prefect_deployment_run_create
from flows.images import import_images
from apps.imports.import_types import import_type_spec
from tests.admin.conftest import PAGE_URL, flow_runs_of

pytestmark = pytest.mark.django_db  # the one test of two threads starting at once is transactional


def _problems(response) -> str:
    return " ".join(html.unescape(str(problem)) for problem in response.context["problems"])


def test_start_creates_a_pending_session_and_triggers_its_deployment(
    importer_client, importer, product, exchange_dir, deployments, shard_pool
):
    response = importer_client.post(
        PAGE_URL, {"import_type": "images", "validate_images": "on", "dry_run": "on", "shards": "2"}
    )

    assert response.status_code == 302 and response["Location"] == "/admin/integrations/importsession/"
    session = ImportSession.objects.get()
    assert (session.status, session.import_type, session.started_by, session.started_by_user) == (
        "pending", "images", "admin", importer
    )
    options = {"validate_images": True, "dry_run": True, "mirror": False, "verify_storage": False,
               "rebuild_renditions": False, "shards": 2, "chunk_size": None}
    assert session.parameters == {"data_dir": str(exchange_dir), "options": options}
    (run,) = flow_runs_of(deployments["images"])
    assert run.id == session.flow_run_id
    assert run.parameters == {"data_dir": str(exchange_dir), "options": options, "session_id": session.pk}
    assert run.idempotency_key == f"import-session-{session.pk}"
    # The same key (a retried API call) finds the same run instead of starting another.
    again = prefect_deployment_run_create(
        deployment_id=deployments["images"], parameters=run.parameters, idempotency_key=run.idempotency_key
    )
    assert again == run.id and len(flow_runs_of(deployments["images"])) == 1


def test_success_message_links_the_run_in_prefect(importer_client, product, exchange_dir, deployments):
    response = importer_client.post(PAGE_URL, {"import_type": "catalog"}, follow=True)

    session = ImportSession.objects.get()
    (message,) = [str(m) for m in response.context["messages"]]
    assert f"Импорт «Каталог товаров» запущен: сессия #{session.pk}" in message
    assert f"/runs/flow-run/{session.flow_run_id}" in message


def test_who_may_start_but_not_watch_comes_back_to_the_page(importer, product, exchange_dir, deployments, client):
    importer.user_permissions.remove(Permission.objects.get(codename="view_importsession"))
    client.force_login(importer)

    response = client.post(PAGE_URL, {"import_type": "images"}, follow=True)

    assert response.redirect_chain == [(PAGE_URL, 302)]
    assert "Импорт «Изображения товаров» запущен" in " ".join(str(m) for m in response.context["messages"])


def test_a_missing_deployment_is_named_and_nothing_starts(importer_client, product, exchange_dir, deployments):
    with get_client(sync_client=True) as client:
        client.delete_deployment(deployments["images"])

    response = importer_client.post(PAGE_URL, {"import_type": "images"})

    assert "развёртывания Prefect 'import-images/images' нет на " in _problems(response)
    assert "prefect --no-prompt deploy --all" in _problems(response)
    assert not ImportSession.objects.exists()


def test_a_refused_trigger_ends_the_session_failed_with_the_reason(importer_client, product, exchange_dir, deployments):
    # A deployment whose parameter schema the server enforces and our parameters break.
    with get_client(sync_client=True) as client:
        client.delete_deployment(deployments["images"])
        client.create_deployment(
            flow_id=client.create_flow(import_images),
            name="images",
            parameter_openapi_schema={
                "type": "object",
                "properties": {"session_id": {"type": "string"}},
                "required": ["session_id"],
            },
            enforce_parameter_schema=True,
        )

    response = importer_client.post(PAGE_URL, {"import_type": "images"})

    session = ImportSession.objects.get()
    assert session.status == "failed" and session.running_slot is None
    assert session.error_message.startswith(f"could not start Prefect deployment '{import_type_spec('images').deployment_name}'")
    assert session.error_message_text.startswith(f"не удалось запустить развёртывание Prefect '{import_type_spec('images').deployment_name}'")
    assert session.error_message_text in _problems(response)


@pytest.mark.django_db(transaction=True)  # two threads, each with its own connection
def test_two_simultaneous_starts_give_one_run_and_one_refusal(importer, product, exchange_dir, deployments):
    barrier = threading.Barrier(2)
    responses = []

    def start():
        client = Client()
        client.force_login(importer)
        barrier.wait()
        try:
            responses.append(client.post(PAGE_URL, {"import_type": "images"}))
        finally:
            connections.close_all()

    # Prefect's settings (the test server's URL) live in a context variable: carry it over.
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(start,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(r.status_code for r in responses) == [200, 302]
    session = ImportSession.objects.get()
    assert session.status == "pending"
    assert [run.id for run in flow_runs_of(deployments["images"])] == [session.flow_run_id]
    (refused,) = [r for r in responses if r.status_code == 200]
    assert f"уже выполняется другой импорт: сессия #{session.pk}" in _problems(refused)


def test_a_session_whose_run_was_cancelled_no_longer_blocks_a_start(
    importer_client, product, exchange_dir, deployments
):
    importer_client.post(PAGE_URL, {"import_type": "images"})
    stale = ImportSession.objects.get()
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(stale.flow_run_id, Cancelled(message="cancelled in the UI"), force=True)

    response = importer_client.post(PAGE_URL, {"import_type": "images"})

    assert response.status_code == 302
    stale.refresh_from_db()
    assert stale.status == "cancelled" and "cancelled in the UI" in stale.error_message
    assert ImportSession.objects.filter(status="pending").exclude(pk=stale.pk).count() == 1
