"""The console's log format: one line per event, so journald and log shippers keep an event
whole (a traceback is folded into its line, its line breaks written as `\\n`)."""
from __future__ import annotations

import logging


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "").replace("\n", "\\n")
