"""A session's report, read. The session keeps it as JSON (`ImportSession.report_details`,
written only by `services.sessions`); the admin, the command line, the flows and the 1C
exchange read its counters and its progress through `ImportReport`, so "processed of
total" is worked out here only."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from django.utils.translation import gettext, gettext_noop

from apps.i18n.messages import Message, message_text

from .import_types import RUN_ENTRIES, import_type_spec


@dataclass(frozen=True)
class ImportReport:
    """The stored report, with what is read from it by name. An image import counts
    products (`total_products`), the exchange imports count files (`total_files`); a
    session stored before a counter existed reads it as 0."""

    details: Mapping[str, Any] = field(default_factory=dict)

    def count(self, key: str) -> int:
        """A counter of the type's spec (`copied`, `created`, ...): 0 until recorded."""
        return int(self.details.get(key) or 0)

    @property
    def processed(self) -> int:
        return self.count("processed")

    @property
    def total(self) -> int | None:
        """Products (images) or files (exchange imports) the run has to process; None
        until the run has counted them."""
        total = self.details.get("total_products", self.details.get("total_files"))
        return None if total is None else int(total)

    @property
    def unit(self) -> str:
        return "products" if "total_products" in self.details else "files"

    @property
    def percent(self) -> int | None:
        """Processed of total, in whole percent; None while the total is unknown or 0."""
        return min(100, 100 * self.processed // self.total) if self.total else None

    @property
    def errors(self) -> int:
        return self.count("errors")

    @property
    def chunks_done(self) -> int:
        return self.count("chunks_done")

    @property
    def chunks_total(self) -> int | None:
        """The chunks an image import planned (None: not a chunked import)."""
        total = self.details.get("chunks_total")
        return None if total is None else int(total)

    @property
    def dry_run(self) -> bool:
        return bool(self.details.get("dry_run"))

    def progress_message(self) -> Message:
        """`12 of 40 products`, `1 of 2 files`, `0 of ? files` before the total is known."""
        text = gettext_noop("%(processed)s of %(total)s products") if self.unit == "products" else gettext_noop(
            "%(processed)s of %(total)s files"
        )
        return Message(text, processed=self.processed, total="?" if self.total is None else self.total)

    def printed(self) -> dict[str, Any]:
        """What the command line prints: every entry but a per-file error list (sessions
        stored before the errors moved to their chunks have one)."""
        return {key: value for key, value in self.details.items() if key != "error_details"}


def entry_text(value: Any) -> Any:
    """A report entry's or a parameter's value as people read it: yes or no for a flag, a
    list's items joined with commas (not Python's ['a', 'b'])."""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(entry_text(item)) for item in value)
    return value


def counter_label(import_type: str, key: str) -> str:
    """How the session page names a report entry of this type: its counter's label, or the
    label of an entry every run may record (`chunks_done`); an unknown key as it is."""
    entry = import_type_spec(import_type).counter(key) or RUN_ENTRIES.get(key)
    return str(entry.label) if entry else key


def counted(label: str, value: Any) -> Message:
    """A count as every report line says it, `Товары: создано — 48`: a label may hold a colon
    of its own («Товары: создано»), so never `label: value`. Built when shown, never stored
    (the label is already in the language of the moment)."""
    return Message(gettext_noop("%(label)s — %(count)s"), label=str(label), count=entry_text(value))


def counters_text(import_type: str, counters: Mapping[str, Any]) -> str:
    """Counters under their labels, in the site's language: `Товары: создано — 24, ...`."""
    return ", ".join(counted(counter_label(import_type, key), value).translated() for key, value in counters.items())


def reason_text(error: Mapping[str, Any]) -> str:
    """A per-file or per-record error's reason in the site's language: its stored message,
    or, for sessions stored before reasons were translated, the text as stored."""
    return message_text(error.get("message") or error["reason"])
