"""apps.i18n messages: stored as English text and parameters, shown in the language of the
moment; an exception raised with one keeps it through pickling (Prefect's results). The
CommerceML reader's texts and the media storage's refusals read the same way."""
import pickle

import pytest
from django.utils import translation

from apps.i18n.messages import Message, as_message, message_of, message_text
from apps.imports.exceptions import CatalogEmptyError
from apps.imports.reports import ImportReport
from apps.media.exceptions import MediaStorageError
from commerceml.reader import GOODS, CommerceMLError, ExchangeDocument


def test_a_stored_message_and_the_messages_inside_it_read_in_the_active_language():
    stored = Message("%(progress)s done", progress=ImportReport({"total_files": 2, "processed": 1}).progress_message())
    data = stored.as_json()

    assert str(stored) == "1 of 2 files done"
    with translation.override("ru"):
        assert message_text(data) == "выполнено 1 из 2 файлов"
    with translation.override("en"):
        assert message_text(data) == "1 of 2 files done"


def test_texts_stored_before_messages_show_as_stored():
    with translation.override("ru"):
        assert message_text("the file is empty (0 bytes)") == "the file is empty (0 bytes)"
        assert message_text(None) == ""


def test_an_exception_raised_with_a_message_keeps_it_through_pickling():
    refused = pickle.loads(pickle.dumps(CatalogEmptyError(Message("another import is already running"))))

    assert str(refused) == "another import is already running"
    with translation.override("ru"):
        assert message_text(message_of(refused)) == "уже выполняется другой импорт"
    assert message_of(ValueError("plain")) == "plain"


def test_the_commerceml_readers_errors_and_skip_reasons_read_in_the_active_language(tmp_path):
    """The reader is plain Python: its texts are ReaderMessages, which the imports store
    and show as Messages, and an error raised with one keeps it through pickling."""
    broken = tmp_path / "goods.xml"
    broken.write_text("<КоммерческаяИнформация><Товар>", encoding="utf-8")
    with pytest.raises(CommerceMLError) as raised:
        list(ExchangeDocument(broken).records(GOODS))
    error = pickle.loads(pickle.dumps(raised.value))
    nameless = tmp_path / "nameless.xml"
    nameless.write_text(
        "<КоммерческаяИнформация><Каталог><Товары><Товар><Наименование>Мяч</Наименование></Товар>"
        "<Товар/></Товары></Каталог></КоммерческаяИнформация>", encoding="utf-8",
    )
    skipped = [as_message(record.reason) for record in ExchangeDocument(nameless).records(GOODS)]

    assert str(error).startswith(f"{broken}: line 1, column ") and "malformed XML" in str(error)
    assert [str(reason) for reason in skipped] == [
        "goods #1 (Мяч) has no <Ид>; skipped", "goods #2 (no name) has no <Ид>; skipped",
    ]
    with translation.override("ru"):
        assert message_text(message_of(error)).startswith(f"{broken}: строка 1, столбец ")
        assert "выгрузите этот файл из 1С заново" in message_text(message_of(error))
        assert [message_text(reason.as_json()) for reason in skipped] == [
            "элемент «товар» №1 (Мяч) без <Ид>; пропущен", "элемент «товар» №2 (без наименования) без <Ид>; пропущен",
        ]


def test_the_media_storages_refusal_reads_in_the_active_language(tmp_path):
    from django.core.files.storage import FileSystemStorage

    from apps.media.storage import media_storage

    with pytest.raises(MediaStorageError) as raised:
        media_storage(FileSystemStorage(location="/proc/no-such-dir")).probe()

    assert str(raised.value).startswith("media folder /proc/no-such-dir (MEDIA_ROOT): cannot write a probe file (")
    with translation.override("ru"):
        said = message_text(message_of(raised.value))
    assert said.startswith("папка медиафайлов /proc/no-such-dir (MEDIA_ROOT): не удаётся записать пробный файл (")
    assert said.endswith("исправьте права на папку или освободите место")
