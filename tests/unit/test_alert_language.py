"""An import's alert e-mail is in the site's language throughout: its reason, its counters
(«Файлов с ошибками — 1», never two colons) and each per-file error's reason."""
import io
from dataclasses import asdict

import pytest

from apps.i18n.messages import message_of
from apps.imports.models import ImportSession
from apps.imports.services.alerts import import_session_alert_record
from apps.imports.services.images_import import ImageFileError
from apps.imports.services.sessions import (
    import_session_create,
    import_session_finish,
    import_session_record_chunk,
    import_session_start,
)
from apps.media.exceptions import ImageImportError
from apps.media.files import check_image

pytestmark = pytest.mark.django_db


def test_the_alert_of_an_image_import_with_an_error_is_russian(settings):
    settings.ONEC_NOTIFY_EMAILS = ["shop@example.com"]
    settings.ONEC_NOTIFY_MIN_ERRORS = 1
    session = import_session_create(import_type="images", started_by=ImportSession.StartedBy.ADMIN)
    import_session_start(session_id=session.pk)
    with pytest.raises(ImageImportError) as empty:
        check_image(io.BytesIO(b""), "import_files/0a/empty.jpg", decode=False)
    error = asdict(ImageFileError.of(product="0a1b", file="import_files/0a/empty.jpg", reason=message_of(empty.value)))
    import_session_record_chunk(session_id=session.pk, chunk_index=0, counters={"processed": 1, "errors": 1},
                                error_details=[error])
    session = import_session_finish(session_id=session.pk)

    body = import_session_alert_record(session=session).body

    assert "Причина: Не импортировано файлов: 1; первый: " in body
    assert "\n  Файлов с ошибками — 1\n" in body and "\n  Файлов скопировано — 0\n" in body
    assert "  - 0a1b; import_files/0a/empty.jpg; import_files/0a/empty.jpg: файл пуст (0 байт)\n" in body
    assert "the file is empty" not in body and "were not imported" not in body
