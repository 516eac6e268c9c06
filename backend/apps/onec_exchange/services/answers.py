"""What 1C is told: a status line (`success`, `progress`, `failure`) and the lines after it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExchangeAnswer:
    """What 1C is told: `success`, `progress` or `failure`, and the lines after it."""

    status: str
    lines: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join((self.status, *self.lines))


def answer_success(*lines: str) -> ExchangeAnswer:
    return ExchangeAnswer("success", tuple(lines))


def answer_progress(*lines: str) -> ExchangeAnswer:
    return ExchangeAnswer("progress", tuple(lines))


def answer_failure(reason: str) -> ExchangeAnswer:
    return ExchangeAnswer("failure", (reason,))
