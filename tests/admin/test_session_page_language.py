"""An image session's page with per-file errors, and a catalog session's with records the
CommerceML reader skipped, speak the site's one language: in Chromium, with
DJANGO_LANGUAGE_CODE=ru their text has no English sentence, with `en` no Russian one.
File names, GUIDs, setting names and CommerceML tags (<Картинка>) are not sentences
(tests/languages.py)."""
from __future__ import annotations

import io
import re
from dataclasses import asdict

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.i18n.messages import message_of
from apps.imports.options import ImageImportOptions
from apps.imports.services.image_sources import resolve_source_image
from apps.imports.services.images_import import ImageFileError
from apps.imports.services.record_import import exchange_import_file
from apps.imports.services.sessions import (
    import_session_create,
    import_session_finish,
    import_session_record_chunk,
    import_session_start,
    import_session_update_report,
)
from apps.media.exceptions import ImageImportError
from apps.media.files import check_image
from commerceml import writer as cml
from tests.admin.browser import admin_page, screenshot
from tests.exchange_builders import Exchange31
from tests.languages import other_language_sentences

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A key shown as it is stored (`chunk_size`, `dry_run`) rather than under its label; 1C's
# folder of pictures is named as 1C names it.
RAW_KEY = re.compile(r"(?<![\w/.-])[a-z]+(?:_[a-z]+)+(?![\w/.-])")
NOT_KEYS = {"import_files"}
WIDTH = 1366



def _recorded(product: str, path: str, refused: ImageImportError) -> dict:
    """The per-file error the image import records for a refused file."""
    return asdict(ImageFileError.of(product=product, file=path, reason=message_of(refused)))


def _refused_content(product: str, content: bytes) -> dict:
    path = f"import_files/0a/{product}.jpg"
    with pytest.raises(ImageImportError) as refused:
        check_image(io.BytesIO(content), path, decode=False)
    return _recorded(product, path, refused.value)


def _refused_path(product: str, path: str, images_dir) -> dict:
    with pytest.raises(ImageImportError) as refused:
        resolve_source_image(path, images_dir)
    return _recorded(product, path, refused.value)


def _image_session_with_errors(images_dir) -> int:
    session = import_session_create(
        import_type="images", started_by="admin",
        parameters={"data_dir": "/srv/1c", "options": ImageImportOptions().as_parameters()},  # as a launch records them
    )
    import_session_start(session_id=session.pk)
    import_session_update_report(
        session_id=session.pk, total_products=4, processed=0, chunks_total=1, chunks_done=0, dry_run=False
    )
    errors = [
        _refused_content("0a1b2c3d-0001", b""),
        _refused_content("0a1b2c3d-0002", b"<script>alert(1)</script>"),
        _refused_path("0a1b2c3d-0003", "import_files/0a/0a1b2c3d-0003.gif", images_dir),
        _refused_path("0a1b2c3d-0004", "../../etc/passwd.jpg", images_dir),
    ]
    import_session_record_chunk(
        session_id=session.pk, chunk_index=0, counters={"processed": 4, "errors": 4}, error_details=errors
    )
    return import_session_finish(session_id=session.pk).pk


def _catalog_session_with_skipped_records(exchange_dir) -> int:
    """A catalog import of a goods file whose two <Товар> without <Ид> the reader skips, one
    of them nameless, recorded as the flow records a file."""
    goods = Exchange31(exchange_dir).goods(cml.Goods("", "Мяч детский"), cml.Goods("", ""), cml.Goods("g1", "Мяч"))
    session = import_session_create(import_type="catalog", started_by="admin", parameters={"data_dir": str(exchange_dir)})
    import_session_start(session_id=session.pk)
    import_session_update_report(session_id=session.pk, total_files=1, processed=0)
    result = exchange_import_file(kind="goods", path=goods, sync_mark=timezone.now())
    import_session_record_chunk(
        session_id=session.pk, chunk_index=0, counters={**result["counters"], "processed": 1, "errors": result["errors"]},
        error_details=result["error_details"],
    )
    return import_session_finish(session_id=session.pk).pk


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("kind", ["images", "catalog"])
def test_the_session_page_speaks_one_language(kind, language, live_server, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.LANGUAGE_CODE = language
    session_id = (_image_session_with_errors if kind == "images" else _catalog_session_with_skipped_records)(tmp_path)

    with admin_page(live_server.url) as page:
        page.goto(f"{live_server.url}/admin/integrations/importsession/{session_id}/change/")
        text = page.inner_text("body")
        width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, f"admin-{'image' if kind == 'images' else kind}-session-{language}.png")

    for words in PAGE_WORDS[kind][language]:  # the page is the session's, in that language
        assert words in text
    other = other_language_sentences(text, language)
    assert not other, f"the {language} page has sentences in another language: {other}"
    assert not set(RAW_KEY.findall(text)) - NOT_KEYS, "a stored key is shown without its label"
    assert width <= WIDTH, f"the page is {width} px wide at {WIDTH} px"


PAGE_WORDS = {
    "images": {"ru": ["Ошибки по файлам: 4"], "en": ["Errors per file: 4"]},
    "catalog": {
        "ru": ["Ошибки по записям обмена: 2", "элемент «товар» №1 (Мяч детский) без <Ид>; пропущен",
               "элемент «товар» №2 (без наименования) без <Ид>; пропущен"],
        "en": ["Errors per exchange record: 2", "goods #1 (Мяч детский) has no <Ид>; skipped", "goods #2 (no name) has no <Ид>; skipped"],
    },
}


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("page_path", ["/admin/auth/group/add/", "/admin/auth/user/{viewer}/change/"])
def test_the_users_and_groups_pages_speak_one_language(page_path, language, live_server, settings, monkeypatch):
    """Their permissions selector lists every permission: Django's, stored in English ("Can add
    product"), said in the site's language like the project's own."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.LANGUAGE_CODE = language

    with admin_page(live_server.url) as page:
        viewer = User.objects.get(username="viewer")
        page.goto(live_server.url + page_path.format(viewer=viewer.pk))
        text = page.inner_text("body")
        options = page.eval_on_selector_all("select[id$=permissions_from] option",  # the selector's left column
                                            "options => options.map(option => option.textContent)")
        width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, f"admin-{'group' if 'group' in page_path else 'user'}-permissions-{language}.png")

    assert len(options) > 50  # every model's four, and the project's own
    other = other_language_sentences(text + "\n".join(options), language)
    assert not other, f"the {language} page has sentences in another language: {other}"
    assert width <= WIDTH, f"the page is {width} px wide at {WIDTH} px"
