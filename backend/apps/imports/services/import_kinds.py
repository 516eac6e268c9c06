"""Which exchange files an import type reads, and the services that import a file of a
kind and remove what a full exchange no longer has: all named by the type's spec
(`import_types.IMPORT_TYPES`)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from commerceml.reader import EXCHANGE_KINDS, exchange_files
from ..exceptions import ExchangeDirectoryError
from ..import_types import ExchangeKind, import_type_spec, import_type_specs


def _exchange_kind(kind: str) -> ExchangeKind:
    """The spec of an exchange kind (each kind belongs to one import type)."""
    return next(item for spec in import_type_specs() for item in spec.kinds if item.kind == kind)


def _expected_files(kind: str, data_dir: Path) -> str:
    folder, prefixes = EXCHANGE_KINDS[kind]
    legacy = " or ".join(f"{data_dir}/{prefix}*.xml" for prefix in prefixes)
    return f"{data_dir / folder}/*.xml (CommerceML 3) or {legacy} (CommerceML 2)"


def exchange_plan_files(*, import_type: str, data_dir: Path) -> tuple[dict[str, list[str]], str]:
    """The files of each kind the import type reads, and a note when the exchange has
    none of its required kind (1C did not send that kind this time: nothing to do).
    A directory with no exchange files at all is refused: it is the wrong directory."""
    spec = import_type_spec(import_type)
    required = spec.required_kind
    files = {item.kind: [str(path) for path in exchange_files(data_dir, item.kind)] for item in spec.kinds}
    if files[required]:
        return files, ""
    if not any(exchange_files(data_dir, kind) for kind in EXCHANGE_KINDS):
        raise ExchangeDirectoryError(
            f"no {required} files in {data_dir}: expected {_expected_files(required, data_dir)}; "
            "check ONEC_DATA_DIR / --data-dir and that 1C finished the exchange"
        )
    return files, (
        f"the exchange in {data_dir} has no {required} files "
        f"({_expected_files(required, data_dir)}): 1C sent none this time, nothing was imported"
    )


def exchange_import_file(*, kind: str, path: Path, sync_mark: datetime, context: dict | None = None) -> dict:
    """Write one exchange file's records with its kind's service (`context` is passed on)."""
    service = _exchange_kind(kind).import_file_service()
    return service(path=path, sync_mark=sync_mark, **(context or {})).as_dict()


def exchange_remove_absent(*, kind: str, sync_mark: datetime) -> dict:
    """After a full exchange of `kind`: deactivate or delete what 1C no longer sends."""
    return _exchange_kind(kind).remove_absent_service()(sync_mark=sync_mark)
