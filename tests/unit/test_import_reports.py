"""ImportReport: processed of total, read one way from any stored report."""
import pytest
from django.utils import translation

from apps.imports.reports import ImportReport

pytestmark = pytest.mark.usefixtures("in_english")


def test_an_image_report_counts_products_and_an_exchange_report_files():
    images = ImportReport({"total_products": 40, "processed": 12, "copied": "7", "chunks_total": 4, "chunks_done": 1})
    files = ImportReport({"total_files": 2, "processed": 1})

    assert (images.progress_message().translated(), images.percent, images.count("copied"), images.chunks_total) == (
        "12 of 40 products", 30, 7, 4
    )
    assert (files.progress_message().translated(), files.percent, files.chunks_total) == ("1 of 2 files", 50, None)
    with translation.override("ru"):
        assert (images.progress_message().translated(), files.progress_message().translated()) == ("12 из 40 товаров", "1 из 2 файлов")


def test_a_report_before_its_total_is_known_or_stored_long_ago_reads_as_zero():
    empty = ImportReport({})
    assert (empty.progress_message().translated(), empty.percent, empty.errors, empty.dry_run) == ("0 of ? files", None, 0, False)
    assert ImportReport({"total_products": 0}).percent is None
    assert ImportReport({"total_products": 3, "processed": 5}).percent == 100
    assert ImportReport({"errors": 1, "error_details": [{}]}).printed() == {"errors": 1}


def test_a_listed_entry_reads_as_words_not_a_python_list():
    """The CLI's report line «Предложения без товара (первые) — a, b», not «['a', 'b']»."""
    from apps.imports.import_types import RUN_ENTRIES
    from apps.imports.reports import counted

    entry = RUN_ENTRIES["unknown_offer_ids"]
    with translation.override("ru"):
        assert counted(entry.label, ["a", "b"]).translated() == "Предложения без товара (первые) — a, b"
