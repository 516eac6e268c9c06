"""apps.i18n messages: stored as English text and parameters, shown in the language of the
moment; an exception raised with one keeps it through pickling (Prefect's results)."""
import pickle

from django.utils import translation

from apps.i18n.messages import Message, message_of, message_text
from apps.imports.exceptions import CatalogEmptyError
from apps.imports.reports import ImportReport


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
