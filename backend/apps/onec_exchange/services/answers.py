"""What 1C is told: a status line (`success`, `progress`, `failure`) and the lines after it.

The status line and the machine-read lines (the cookie, `sessid=`, `zip=yes`) are plain
text; the lines for 1C's operator are apps.i18n Messages (or stored ones), written in the
language active when the answer's text is read (the view makes it the site's)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.i18n.messages import message_text


@dataclass(frozen=True)
class ExchangeAnswer:
    """What 1C is told: `success`, `progress` or `failure`, and the lines after it."""

    status: str
    lines: tuple[Any, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join((self.status, *(message_text(line) for line in self.lines)))


def answer_success(*lines) -> ExchangeAnswer:
    return ExchangeAnswer("success", tuple(lines))


def answer_progress(*lines) -> ExchangeAnswer:
    return ExchangeAnswer("progress", tuple(lines))


def answer_failure(reason) -> ExchangeAnswer:
    return ExchangeAnswer("failure", (reason,))
