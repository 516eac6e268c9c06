"""The plan of an exchange import: which exchange files of each kind an import type reads
(its spec's kinds, `import_types.IMPORT_TYPES`), or why there is nothing to read."""
from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_noop

from apps.i18n.messages import Message
from commerceml.layout import EXCHANGE_KINDS, exchange_files
from ..exceptions import ExchangeDirectoryError
from ..import_types import import_type_spec


def _expected_files(kind: str, data_dir: Path) -> Message:
    folder, prefixes = EXCHANGE_KINDS[kind]
    return Message(
        gettext_noop("%(folder)s (CommerceML 3) or %(files)s (CommerceML 2)"),
        folder=f"{data_dir / folder}/*.xml", files=", ".join(f"{data_dir}/{prefix}*.xml" for prefix in prefixes),
    )


def exchange_plan_files(*, import_type: str, data_dir: Path) -> tuple[dict[str, list[str]], Message | str]:
    """The files of each kind the import type reads, and a note when the exchange has
    none of its required kind (1C did not send that kind this time: nothing to do).
    A directory with no exchange files at all is refused: it is the wrong directory."""
    spec = import_type_spec(import_type)
    required = spec.required_kind
    files = {item.kind: [str(path) for path in exchange_files(data_dir, item.kind)] for item in spec.kinds}
    if files[required]:
        return files, ""
    if not any(exchange_files(data_dir, kind) for kind in EXCHANGE_KINDS):
        raise ExchangeDirectoryError(Message(
            gettext_noop(
                "no %(kind)s files in %(dir)s: expected %(expected)s; "
                "check ONEC_DATA_DIR / --data-dir and that 1C finished the exchange"
            ),
            kind=required, dir=str(data_dir), expected=_expected_files(required, data_dir),
        ))
    return files, Message(
        gettext_noop(
            "the exchange in %(dir)s has no %(kind)s files (%(expected)s): 1C sent none this time, nothing was imported"
        ),
        dir=str(data_dir), kind=required, expected=_expected_files(required, data_dir),
    )
