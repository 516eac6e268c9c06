"""ImportSessionAdmin: who sees what, the live JSON, the list and detail pages, cancel, and
the site's language."""
import io
import uuid
from dataclasses import asdict

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

from apps.i18n.messages import message_of
from apps.imports import admin as session_admin
from apps.imports.models import ImportSession
from apps.imports.services.images_import import ImageFileError
from apps.imports.services.sessions import (
    import_session_complete,
    import_session_create,
    import_session_finish,
    import_session_record_chunk,
    import_session_start,
    import_session_update_report,
)
from apps.media.exceptions import InvalidImageError
from apps.media.files import check_image

pytestmark = pytest.mark.django_db

Status = ImportSession.Status
ACTIVE_URL = reverse("admin:integrations_importsession_active")
LIST_URL = reverse("admin:integrations_importsession_changelist")


def _session(*, status=Status.IN_PROGRESS, processed=0, total=None, user=None, import_type="images", **report):
    session = import_session_create(
        import_type=import_type, started_by=ImportSession.StartedBy.ADMIN, user=user,
        parameters={"data_dir": "/srv/1c", "chunk_size": 10},
    )
    if status != Status.PENDING:
        import_session_start(session_id=session.pk)
    if total is not None:
        import_session_update_report(session_id=session.pk, total_products=total, processed=processed, **report)
    if status == Status.COMPLETED:
        import_session_complete(session_id=session.pk)
    session.refresh_from_db()
    return session


def _cancel_url(session):
    return reverse("admin:integrations_importsession_cancel", args=[session.pk])


@pytest.fixture
def viewer(client):
    """A staff user with only the view permission on ImportSession."""
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_importsession"))
    client.force_login(user)
    return client


@pytest.fixture
def operator(client):
    """A staff user who may watch sessions and start (so also cancel) imports."""
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_importsession"), Permission.objects.get(codename="start_import")
    )
    client.force_login(user)
    return client


@pytest.fixture
def staff_without_permission(client):
    client.force_login(User.objects.create_user("clerk", password="pw", is_staff=True))
    return client


@pytest.fixture
def non_staff(client):
    client.force_login(User.objects.create_user("customer", password="pw"))
    return client


# --- permissions ---


@pytest.mark.parametrize("who", ["anonymous", "non_staff"])
def test_anonymous_and_non_staff_are_sent_to_login_and_get_no_data(who, request, client):
    if who == "non_staff":
        request.getfixturevalue("non_staff")
    session = _session(total=10, processed=4)

    for url in (ACTIVE_URL, LIST_URL, reverse("admin:integrations_importsession_change", args=[session.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        assert b"in_progress" not in response.content
    response = client.post(_cancel_url(session))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    session.refresh_from_db()
    assert session.status == Status.IN_PROGRESS


def test_staff_without_view_permission_is_refused(staff_without_permission):
    session = _session(total=10, processed=4)

    assert staff_without_permission.get(ACTIVE_URL).status_code == 403
    assert staff_without_permission.get(LIST_URL).status_code == 403
    assert staff_without_permission.post(_cancel_url(session)).status_code == 403
    session.refresh_from_db()
    assert session.status == Status.IN_PROGRESS


def test_sessions_are_read_only(viewer):
    session = _session(status=Status.COMPLETED, total=3, processed=3)

    assert viewer.get(reverse("admin:integrations_importsession_add")).status_code == 403
    assert viewer.get(reverse("admin:integrations_importsession_delete", args=[session.pk])).status_code == 403
    page = viewer.get(reverse("admin:integrations_importsession_change", args=[session.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


# --- the JSON endpoint ---


def test_active_endpoint_sends_active_sessions_with_their_progress(viewer, admin_user):
    finished = _session(status=Status.COMPLETED, total=5, processed=5)
    running = _session(total=200, processed=50, copied=70, replaced=2, skipped=9, errors=1, user=admin_user)

    data = viewer.get(ACTIVE_URL).json()

    assert data["active"] is True and data["poll_interval_ms"] == 2000
    assert [s["id"] for s in data["sessions"]] == [running.pk]
    state = data["sessions"][0]
    assert state["status"] == "in_progress" and state["is_active"] is True
    assert (state["processed"], state["total"], state["percent"]) == (50, 200, 25)
    assert state["counters"] == {
        "total_products": 200, "processed": 50, "products_without_images": 0, "main_images_set": 0,
        "gallery_added": 0, "removed": 0, "copied": 70, "replaced": 2, "restored": 0, "skipped": 9,
        "renditions_created": 0, "renditions_skipped": 0, "rendition_errors": 0, "errors": 1,
    }
    assert state["text"]["progress"] == "50 / 200 товаров · 25%"
    assert state["text"]["status"] == "Выполняется"
    assert state["text"]["finished"] == "—"
    assert state["finished_at"] is None and state["started_at"]
    assert finished.pk not in [s["id"] for s in data["sessions"]]


def test_active_endpoint_also_answers_for_the_sessions_the_page_still_shows_as_active(viewer):
    session = _session(total=4, processed=2)
    import_session_update_report(session_id=session.pk, processed=4)
    import_session_complete(session_id=session.pk)

    data = viewer.get(ACTIVE_URL, {"id": [session.pk, "junk"]}).json()

    assert data["active"] is False
    [state] = data["sessions"]
    assert (state["id"], state["status"], state["percent"], state["is_active"]) == (session.pk, "completed", 100, False)
    assert state["text"]["finished"] != "—"


def test_active_endpoint_when_nothing_runs(viewer):
    assert viewer.get(ACTIVE_URL).json() == {"sessions": [], "active": False, "poll_interval_ms": 2000}


def test_pending_session_without_a_total_has_no_percent(viewer):
    _session(status=Status.PENDING)

    [state] = viewer.get(ACTIVE_URL).json()["sessions"]

    assert (state["status"], state["percent"], state["total"]) == ("pending", None, None)
    assert state["text"]["progress"] == "ожидает подсчёта"


# --- the list ---


def test_list_shows_newest_first_with_badge_progress_and_file_counters(viewer, admin_user):
    older = _session(status=Status.COMPLETED, total=3, processed=3, copied=13, skipped=0, errors=0)
    newer = _session(total=300, processed=120, copied=40, skipped=7, errors=2, user=admin_user)

    page = viewer.get(LIST_URL).content.decode()

    assert page.index(f'data-import-session="{newer.pk}" data-field="status"') < page.index(
        f'data-import-session="{older.pk}" data-field="status"'
    )
    assert f'data-import-session="{newer.pk}" data-field="status" data-status="in_progress">Выполняется<' in page
    assert 'aria-valuenow="40"' in page and "width: 40%" in page and "120 / 300 товаров · 40%" in page
    assert f'data-import-session="{newer.pk}" data-field="copied">40<' in page
    assert f'data-import-session="{newer.pk}" data-field="skipped">7<' in page
    assert f'data-import-session="{newer.pk}" data-field="errors">2<' in page
    assert "Итог изображений: скопировано / актуальны (уже были в медиа-хранилище) / ошибки, в <strong>файлах</strong>" in page
    assert 'title="Файлов скопировано"' in page and "импорт изображений считает <strong>товары</strong>" in page
    assert "admin" in page  # who started it
    assert f'data-url="{ACTIVE_URL}"' in page
    assert "integrations/import_session_monitor.js" in page
    assert "?import_type__exact=images" in page and "?status__exact=failed" in page


def test_list_filters_by_status(viewer):
    _session(status=Status.COMPLETED, total=1, processed=1)
    running = _session(total=10, processed=1)

    page = viewer.get(LIST_URL, {"status__exact": "in_progress"}).content.decode()

    assert page.count('data-field="status"') == 1
    assert f'data-import-session="{running.pk}" data-field="status"' in page


def test_prefect_link_comes_from_the_ui_url_or_the_api_url(viewer):
    session = _session(total=1, processed=0)
    flow_run_id = uuid.uuid4()
    ImportSession.objects.filter(pk=session.pk).update(flow_run_id=flow_run_id)

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        page = viewer.get(LIST_URL).content.decode()
        [state] = viewer.get(ACTIVE_URL).json()["sessions"]
    assert f'href="http://127.0.0.1:4200/runs/flow-run/{flow_run_id}"' in page
    assert state["prefect_url"] == f"http://127.0.0.1:4200/runs/flow-run/{flow_run_id}"
    assert state["text"]["prefect"] == f"запуск {str(flow_run_id)[:8]}"

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api", PREFECT_UI_URL: "https://prefect.shop.example"}):
        page = viewer.get(LIST_URL).content.decode()
    assert f'href="https://prefect.shop.example/runs/flow-run/{flow_run_id}"' in page

    with temporary_settings(restore_defaults={PREFECT_API_URL, PREFECT_UI_URL}):
        page = viewer.get(LIST_URL).content.decode()
    assert "/runs/flow-run/" not in page and str(flow_run_id)[:8] in page


# --- the detail page ---


def test_detail_page_shows_counters_with_units_parameters_and_capped_file_errors(operator, monkeypatch):
    monkeypatch.setattr(session_admin, "ERROR_DETAILS_LIMIT", 3)
    session = _session(total=20, processed=0)
    errors = [
        {"product": f"guid-{n}", "file": f"import_files/ab/guid-{n}.jpg", "reason": "not an image (cannot identify image file)"}
        for n in range(5)
    ]
    import_session_record_chunk(
        session_id=session.pk, chunk_index=0,
        counters={"processed": 10, "copied": 8, "replaced": 1, "skipped": 3, "errors": 5, "products_without_images": 2},
        error_details=errors,
    )

    page = operator.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()

    assert "Товаров обработано" in page and "Файлов скопировано" in page and "Файлов пропущено: уже актуальны" in page
    assert page.count(">товары<") == 4 and page.count(">файлы<") == 6 and page.count(">записи галереи<") == 2
    assert page.count(">файлы веб-версий<") == 2
    # Each parameter under a label: no raw key of the flow's JSON.
    assert '<th scope="row">Каталог обмена</th><td>/srv/1c</td>' in page
    assert '<th scope="row">Товаров в части</th><td>10</td>' in page and "chunk_size" not in page
    assert "guid-0" in page and "guid-2" in page and "guid-3" not in page
    assert "…и ещё 2 (показаны первые 3 из 5)" in page
    assert "not an image (cannot identify image file)" in page
    assert f'data-import-session="{session.pk}" data-field="copied">8<' in page
    assert 'data-reload-when-done="true"' in page
    assert _cancel_url(session) in page


def test_detail_page_of_a_catalog_import_lists_its_own_counters(viewer):
    session = _session(import_type="catalog")
    import_session_update_report(session_id=session.pk, total_files=2, processed=2, created=3, updated=1)
    import_session_complete(session_id=session.pk)

    page = viewer.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()

    assert "Товаров обработано" not in page
    assert '<th scope="row">Товары: создано</th><td><span data-import-session="%d" data-field="created">3</span>' % (
        session.pk
    ) in page
    assert "Записи обмена, которые не удалось прочитать или записать" in page and "2 / 2 файлов · 100%" in page
    assert '<div class="readonly">Администратор</div>' in page  # who, once: no user to name besides


def test_detail_page_title_reads_right_in_russian_and_english(viewer, settings):
    """Not Django's "Просмотреть сессия импорта" (its "View %s" with the verbose name)."""
    url = reverse("admin:integrations_importsession_change", args=[_session(import_type="catalog").pk])

    russian = viewer.get(url).content.decode()
    settings.LANGUAGE_CODE = "en"
    english = viewer.get(url).content.decode()

    assert "<h1>Просмотр сессии импорта</h1>" in russian and "| Просмотр сессии импорта |" in russian
    assert "Просмотреть сессия" not in russian
    assert "<h1>View import session</h1>" in english


def test_detail_page_of_a_failed_session_shows_its_error_and_no_cancel(viewer):
    session = _session(total=2, processed=0)
    ImportSession.objects.filter(pk=session.pk).update(
        status=Status.FAILED, running_slot=None, error_message="image directory /srv/1c/goods/import_files does not exist"
    )

    page = viewer.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()

    assert "image directory /srv/1c/goods/import_files does not exist" in page
    assert _cancel_url(session) not in page


# --- cancel (no Prefect API configured: the run lives in a terminal's embedded server) ---


def test_cancel_ends_the_session_cancelled_and_says_who(operator):
    session = _session(total=10, processed=0)
    ImportSession.objects.filter(pk=session.pk).update(flow_run_id=uuid.uuid4())
    import_session_record_chunk(
        session_id=session.pk, chunk_index=0, counters={"processed": 3, "copied": 5}, error_details=[]
    )

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        response = operator.post(_cancel_url(session), follow=True)

    session.refresh_from_db()
    assert session.status == Status.CANCELLED and session.finished_at and session.running_slot is None
    assert session.error_message.startswith("cancelled by operator in the admin")
    assert "stop it with Ctrl-C" in session.error_message
    assert f"Сессия #{session.pk} отменена" in response.content.decode()
    assert session.chunks.get().counters == {"processed": 3, "copied": 5}  # what was imported is kept
    assert (session.report_details["processed"], session.report_details["copied"]) == (3, 5)


def test_cancel_needs_post(viewer):
    session = _session(total=10, processed=3)

    assert viewer.get(_cancel_url(session)).status_code == 405
    session.refresh_from_db()
    assert session.status == Status.IN_PROGRESS


def test_cancel_of_a_finished_session_changes_nothing_and_says_why(operator):
    session = _session(status=Status.COMPLETED, total=1, processed=1)

    response = operator.post(_cancel_url(session), follow=True)

    session.refresh_from_db()
    assert session.status == Status.COMPLETED and session.error_message == ""
    page = response.content.decode()
    assert f"Сессия #{session.pk} не отменена: сессия импорта #{session.pk} уже в состоянии «Завершён»" in page
    assert "отменить можно только ожидающий или выполняющийся импорт" in page


def test_cancel_action_cancels_only_the_active_sessions_selected(operator):
    done = _session(status=Status.COMPLETED, total=1, processed=1)
    pending = _session(status=Status.PENDING)

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        operator.post(LIST_URL, {"action": "cancel_selected", "_selected_action": [done.pk, pending.pk]})

    done.refresh_from_db()
    pending.refresh_from_db()
    assert (done.status, pending.status) == (Status.COMPLETED, Status.CANCELLED)


def test_cancel_button_posts_with_the_csrf_token_of_the_page():
    from django.test import Client

    user = User.objects.create_user("guard", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_importsession"), Permission.objects.get(codename="start_import")
    )
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    session = _session(total=10, processed=1)

    assert browser.post(_cancel_url(session)).status_code == 403  # no token: refused
    page = browser.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()
    form = page[page.index('class="import-cancel-form"'):]
    token = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        response = browser.post(_cancel_url(session), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == Status.CANCELLED


def test_a_viewer_without_the_import_permission_cannot_cancel(viewer):
    session = _session(total=10, processed=1)
    page = viewer.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()
    assert _cancel_url(session) not in page
    assert viewer.post(_cancel_url(session)).status_code == 403
    session.refresh_from_db()
    assert session.status == "in_progress"


# --- the site's language ---


def _empty_file_error(product: str) -> dict:
    """The per-file error an empty photo gets, as the image import records it."""
    path = f"import_files/ab/{product}.jpg"
    with pytest.raises(InvalidImageError) as refused:
        check_image(io.BytesIO(b""), path, decode=False)
    return asdict(ImageFileError.of(product=product, file=path, reason=message_of(refused.value)))


def _session_with_an_empty_photo() -> ImportSession:
    session = _session(total=1)
    import_session_record_chunk(
        session_id=session.pk, chunk_index=0, counters={"processed": 1, "errors": 1},
        error_details=[_empty_file_error("guid-1")],
    )
    return import_session_finish(session_id=session.pk)


def test_a_session_message_and_its_reasons_read_in_the_language_of_the_moment(viewer, settings):
    session = _session_with_an_empty_photo()
    url = reverse("admin:integrations_importsession_change", args=[session.pk])

    russian = viewer.get(url).content.decode()
    settings.LANGUAGE_CODE = "en"
    english = viewer.get(url).content.decode()

    assert "Не импортировано файлов: 1; первый: товар guid-1, import_files/ab/guid-1.jpg: файл пуст (0 байт)." in russian
    assert "import_files/ab/guid-1.jpg: файл пуст (0 байт)</td>" in russian
    assert "the file is empty" not in russian
    assert "1 file(s) were not imported; the first: product guid-1, import_files/ab/guid-1.jpg: the file is empty" in english
    assert "import_files/ab/guid-1.jpg: the file is empty (0 bytes)</td>" in english
    assert "файл пуст" not in english and "Ошибки по файлам" not in english and "Errors per file: 1" in english
    # What the logs and older readers see stays English.
    assert session.error_message.startswith("1 file(s) were not imported; the first: product guid-1")


def test_a_session_stored_before_messages_were_translated_shows_its_text_as_stored(viewer):
    session = _session(total=1)
    stored = "1 file(s) were not imported; the first: product g1, import_files/ab/g1.jpg: the file is empty (0 bytes)."
    import_session_record_chunk(
        session_id=session.pk, chunk_index=0, counters={"processed": 1, "errors": 1},
        error_details=[{"product": "g1", "file": "import_files/ab/g1.jpg",
                        "reason": "import_files/ab/g1.jpg: the file is empty (0 bytes)"}],
    )
    import_session_complete(session_id=session.pk)
    ImportSession.objects.filter(pk=session.pk).update(error_message=stored)  # as the release before wrote it

    page = viewer.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()

    assert stored in page
    assert "<td>import_files/ab/g1.jpg: the file is empty (0 bytes)</td>" in page
    assert "Ошибки по файлам: 1" in page


def test_every_entry_of_an_image_report_has_a_label(viewer):
    session = _session(total=3, processed=3, chunks_total=2, chunks_done=2, dry_run=True, shards_total=2)

    page = viewer.get(reverse("admin:integrations_importsession_change", args=[session.pk])).content.decode()

    for label in ("Частей запланировано", "Частей выполнено", "Шарды", "Пробный запуск"):
        assert f'<th scope="row">{label}</th>' in page
    assert '<th scope="row">Пробный запуск</th><td>да</td>' in page
    for key in ("chunks_total", "chunks_done", "dry_run", "shards_total", "total_products", "processed"):
        assert f'<th scope="row">{key}</th>' not in page
