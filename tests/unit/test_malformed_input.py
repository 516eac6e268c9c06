"""Generated malformed input (hypothesis): exchange XML files the CommerceML reader reads,
archives and file names from 1C that staging unpacks and lays out. Every case is read, or
refused with the module's own error (CommerceMLError, StagingError) saying what to do;
none raises anything else, hangs, or writes outside the staging directory.

The cases are few and the same on every run (the `project` profile, tests/conftest.py);
`HYPOTHESIS_PROFILE=thorough` tries many more, at random."""
from __future__ import annotations

import contextlib
import io
import signal
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from apps.onec_exchange.services.staging import (
    PARTIAL_SUFFIX,
    ArchiveLimits,
    StagingError,
    archive_checked,
    archive_extract,
    staging_layout_path,
    staging_resolve,
    staging_write,
)
from commerceml import reader
from commerceml import writer as cml
from commerceml.reader import CommerceMLError, ExchangeDocument

# Archives with two entries of one name are part of the game.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")

# A case that takes longer than this hangs.
CASE_SECONDS = 20
LIMITS = ArchiveLimits(max_entries=50, max_bytes=2 * 1024 * 1024, max_ratio=200)


@contextlib.contextmanager
def _no_longer_than(seconds: int):
    """TimeoutError when the block runs longer than `seconds` (SIGALRM: the main thread)."""

    def hung(signum, frame):
        raise TimeoutError(f"a case ran longer than {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- the CommerceML reader ---------------------------------------------------------------

ids = st.text("0123456789abcdef-", min_size=0, max_size=12)
# Any text, control characters and lone surrogates' neighbours included (XML 1.0 forbids
# some: such a file is malformed and must be refused, not crash the reader).
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
numbers = st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str), texts,
                    st.sampled_from(["1 200,50", "1e999999", "-0", "", "1" * 400]))


def _groups(depth: int) -> st.SearchStrategy:
    children = st.just(()) if depth == 0 else st.lists(_groups(depth - 1), max_size=2).map(tuple)
    return st.builds(cml.Group, onec_id=ids, name=texts, children=children, deleted=st.booleans())


goods = st.builds(cml.Goods, onec_id=ids, name=texts, article=texts, group=ids, description=texts,
                  pictures=st.lists(texts, max_size=2), properties=st.dictionaries(ids, texts, max_size=2),
                  deleted=st.booleans())
offers = st.builds(cml.Offer, onec_id=ids, name=texts, characteristics=st.dictionaries(texts, texts, max_size=2),
                   prices=st.none() | st.lists(st.builds(cml.Price, price_type_id=ids, value=numbers), max_size=2),
                   stocks=st.none() | st.dictionaries(ids, numbers, max_size=2), total=st.none() | numbers,
                   stocks_2x=st.dictionaries(ids, numbers, max_size=2), deleted=st.none() | st.booleans())
only_changes = st.none() | st.booleans()


@st.composite
def exchange_files(draw) -> bytes:
    """A well-formed exchange file of one kind (3.1 or 2.x), as 1C writes it."""
    writer = cml.CommerceMLWriter()
    kind = draw(st.sampled_from(["groups", "goods", "offers", "properties", "counterparties", "import", "offers_2x"]))
    changes = draw(only_changes)
    if kind == "groups":
        return writer.groups(draw(st.lists(_groups(2), max_size=3)), only_changes=changes)
    if kind == "goods":
        return writer.goods(draw(st.lists(goods, max_size=3)), only_changes=changes, bom=draw(st.booleans()))
    if kind == "offers":
        return writer.offers(draw(st.lists(offers, max_size=3)), only_changes=changes)
    if kind == "properties":
        properties = st.builds(cml.Property, onec_id=ids, name=texts, values=st.dictionaries(ids, texts, max_size=2))
        return writer.properties(draw(st.lists(properties, max_size=3)), only_changes=changes)
    if kind == "counterparties":
        counterparty = st.builds(cml.Counterparty, onec_id=ids, name=texts, inn=texts, nested_details=st.booleans(),
                                 representative=texts)
        return writer.counterparties(draw(st.lists(counterparty, max_size=3)), only_changes=changes)
    if kind == "import":
        return writer.import_2x(groups=draw(st.lists(_groups(1), max_size=2)), goods=draw(st.lists(goods, max_size=2)))
    return writer.offers_2x(
        price_types=draw(st.lists(st.builds(cml.PriceType, onec_id=ids, name=texts), max_size=2)),
        warehouses=draw(st.lists(st.builds(cml.Warehouse, onec_id=ids, name=texts), max_size=2)),
        offers=draw(st.lists(offers, max_size=2)), changes_package=draw(st.booleans()),
    )


ENCODINGS = ["UTF-8", "utf-16", "utf-32", "windows-1251", "koi8-r", "cp866", "latin-1", "shift_jis", "gb2312",
             "big5", "no-such-encoding", ""]


def _declared(data: bytes, encoding: str) -> bytes:
    """`data` (UTF-8) with its XML declaration naming `encoding` instead (none when empty)."""
    text = data.decode("utf-8-sig").split("?>", 1)[-1]
    return (f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else "").encode("ascii") + text.encode("utf-8")


@st.composite
def malformed_exchange_files(draw) -> bytes:
    """An exchange file, then broken one way: cut short, bytes spliced in, written in
    another encoding than it declares, a huge attribute or text, groups nested thousands
    deep, or junk after the root."""
    data = draw(exchange_files())
    how = draw(st.sampled_from(["as written", "truncated", "spliced", "re-encoded", "huge attribute", "huge text",
                                "deep groups", "junk after the root"]))
    if how == "truncated":
        return data[:draw(st.integers(0, max(len(data) - 1, 0)))]
    if how == "spliced":
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 40)))
        return data[:start] + draw(st.binary(max_size=40)) + data[end:]
    if how == "re-encoded":
        written, declared = draw(st.sampled_from(ENCODINGS[:-2])), draw(st.sampled_from(ENCODINGS))
        text = _declared(data, declared).decode("utf-8")
        return text.encode(written, errors="replace")
    if how == "huge attribute":
        name = draw(st.sampled_from(["СодержитТолькоИзменения", "Статус", "ВерсияСхемы", "x"]))
        value = draw(st.sampled_from(["a", "я", "&amp;", "true "])) * draw(st.integers(10_000, 200_000))
        root = "<КоммерческаяИнформация".encode()
        return data.replace(root, root + f' {name}="{value}"'.encode(), 1)
    if how == "huge text":
        return data.replace(b"<\xd0\x98\xd0\xb4>", b"<\xd0\x98\xd0\xb4>" + b"9" * draw(st.integers(10_000, 200_000)), 1)
    if how == "deep groups":
        depth = draw(st.integers(1_000, 5_000))
        return ("<Группы>" + "<Группа><Ид>g</Ид><Группы>" * depth + "</Группы></Группа>" * depth + "</Группы>").encode()
    if how == "junk after the root":
        return data + draw(st.binary(min_size=1, max_size=40))
    return data


RECORD_SPECS = (reader.GROUPS, reader.PROPERTIES, reader.GOODS, reader.OFFERS, reader.PRICE_TYPES,
                reader.WAREHOUSES, reader.COUNTERPARTIES)


@given(data=malformed_exchange_files())
# Found here: encodings expat cannot read raised LookupError / ValueError, groups nested
# thousands deep a RecursionError.
@example(data='<?xml version="1.0" encoding="shift_jis"?><Товары/>'.encode("utf-8"))
@example(data=b'<?xml version="1.0" encoding="no-such-encoding"?><a/>')
@example(data=("<Группы>" + "<Группа><Ид>g</Ид><Группы>" * 3000 + "</Группы></Группа>" * 3000 + "</Группы>").encode())
def test_the_reader_reads_or_refuses_a_malformed_exchange_file(data):
    with tempfile.TemporaryDirectory() as folder, _no_longer_than(CASE_SECONDS):
        path = Path(folder) / "goods.xml"
        path.write_bytes(data)
        for spec in RECORD_SPECS:
            document = ExchangeDocument(path)
            try:
                records = list(document.records(spec))
            except CommerceMLError as exc:
                assert str(path) in str(exc) and "1C" in str(exc), exc  # names the file and what to do
                continue
            assert all(record.onec_id for record in records if hasattr(record, "onec_id"))
            assert document.only_changes in (True, False, None)


# --- names and archives from 1C ------------------------------------------------------------

ODD_NAMES = [
    "/etc/passwd", "../../evil.txt", "goods/../../../evil.xml", "goods/..", "..", ".", "", "/", "\\", "C:\\",
    "C:\\Windows\\win.ini", "C:/Users/1c/Temp/v8_1A2B/goods/goods.xml", "\\\\server\\share\\goods.xml",
    "import_files/", "import_files", "goods/import_files/ab/", "~/x.xml", "goods/goods.xml" + PARTIAL_SUFFIX,
    "goods/goods.xml\x00.jpg", "NUL", "con.xml", "goods/\u202egpj.exe", "import_files/ab/фото 1.jpg",
    "Товары/товары.xml", "goods/goods_1_1_\u00e9.xml", "import_files/a.jpg", "import_files/a.jpg/b.jpg",
]
name_parts = st.sampled_from(["goods", "import_files", "offers", "..", ".", "", "ab", "я", "C:", " ", "import.xml"])
names = st.one_of(
    st.sampled_from(ODD_NAMES),
    st.text(max_size=40),
    st.lists(name_parts, min_size=1, max_size=8).map("/".join),
    st.lists(name_parts, min_size=1, max_size=8).map("\\".join),
    st.tuples(st.sampled_from(["", "import_files/", "goods/"]), st.integers(100, 700), st.sampled_from("aяé"))
    .map(lambda case: case[0] + case[2] * case[1] + ".jpg"),
    st.integers(50, 400).map(lambda depth: "import_files/" + "d/" * depth + "x.jpg"),
)


def _files_in(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


@given(name=names)
# Found here: names no file system holds raised OSError (File name too long).
@example(name="import_files/" + "я" * 200 + ".jpg")
@example(name="import_files/" + "d/" * 600 + "x.jpg")
def test_a_name_from_1c_stays_in_staging_or_is_refused(name):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve() / "staging"
        try:
            path = staging_layout_path(name)
        except StagingError as exc:
            assert repr(name)[:40] in str(exc), exc  # names the name
            return
        target = staging_resolve(root, path)  # inside staging, or StagingError
        staging_write(target=target, chunks=[b"x"], replace=True)  # the file system holds the name
        assert _files_in(Path(folder).resolve()) == {target} and root in target.parents


class RawNameInfo(zipfile.ZipInfo):
    """An entry whose name is stored as these bytes, with or without the UTF-8 flag (an old
    archiver's cp866 or cp1251, or bytes that are no encoding at all)."""

    __slots__ = ("raw_name", "utf8_flag")

    def _encodeFilenameFlags(self):
        return self.raw_name, (self.flag_bits | 0x800) if self.utf8_flag else (self.flag_bits & ~0x800)


def _raw_name_info(raw_name: bytes, *, utf8_flag: bool) -> RawNameInfo:
    info = RawNameInfo("x")
    info.raw_name, info.utf8_flag = raw_name, utf8_flag
    return info


@st.composite
def entry_names(draw) -> zipfile.ZipInfo:
    name = draw(names)
    encoding = draw(st.sampled_from(["utf-8 flagged", "cp866", "cp1251", "raw bytes", "raw bytes flagged utf-8"]))
    if encoding == "utf-8 flagged" or not name:
        return zipfile.ZipInfo(name.replace("\x00", "") or "x")
    if encoding.startswith("raw bytes"):
        return _raw_name_info(draw(st.binary(min_size=1, max_size=60)), utf8_flag=encoding.endswith("utf-8"))
    return _raw_name_info(name.encode(encoding, "replace"), utf8_flag=False)


@st.composite
def archives(draw, depth: int = 1) -> bytes:
    """A zip of 1C's files with odd names: CommerceML, bytes, archives in the archive;
    then maybe cut short, a byte flipped, or junk appended."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))) as archive:
        archive.comment = b"c" * draw(st.sampled_from([0, 10, 65535]))
        for _ in range(draw(st.integers(0, 6))):
            info = draw(entry_names())
            info.extra = draw(st.sampled_from([b"", b"\x00" * 4, b"\xff" * 40]))
            data = draw(st.one_of(st.binary(max_size=64), exchange_files(),
                                  archives(depth - 1) if depth else st.just(b"PK\x03\x04")))
            archive.writestr(info, data)
    data = buffer.getvalue()
    how = draw(st.sampled_from(["whole", "whole", "truncated", "byte flipped", "junk appended"]))
    if how == "truncated":
        return data[:draw(st.integers(0, max(len(data) - 1, 0)))]
    if how == "byte flipped" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    if how == "junk appended":
        return data + draw(st.binary(min_size=1, max_size=64))
    return data


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return buffer.getvalue()


def _zip_with_raw_name(raw_name: bytes, *, utf8_flag: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_raw_name_info(raw_name, utf8_flag=utf8_flag), b"x")
    return buffer.getvalue()


@given(data=archives())
# Found here: a file that is another entry's folder raised FileExistsError or
# IsADirectoryError; an entry named like another's partial file (.unpacking) was overwritten
# by it, or taken for one later; a name starting with NUL raised IndexError, one flagged
# UTF-8 that is not UnicodeDecodeError.
@example(data=_zip("import_files/a.jpg", "import_files/a.jpg/b.jpg"))
@example(data=_zip("import_files/a/b.jpg", "import_files/a"))
@example(data=_zip("goods/goods.xml" + PARTIAL_SUFFIX, "goods/goods.xml"))
@example(data=_zip_with_raw_name(b"\x00abc", utf8_flag=False))
@example(data=_zip_with_raw_name(b"\xff\xfe.xml", utf8_flag=True))
def test_an_archive_is_unpacked_inside_staging_or_refused(data):
    with tempfile.TemporaryDirectory() as folder, _no_longer_than(CASE_SECONDS):
        sent = Path(folder).resolve() / "exchange.zip"
        sent.write_bytes(data)
        root = Path(folder).resolve() / "staging"
        root.mkdir()
        try:
            with archive_checked(sent, name="exchange.zip", limits=LIMITS) as opened:
                done = archive_extract(archive=opened.archive, entries=opened.entries, start=0, root=root,
                                       name="exchange.zip", progress=lambda *progress: None)
                laid_out = {staging_resolve(root, entry.path) for entry in opened.entries}
        except StagingError as exc:
            assert str(exc).startswith("archive exchange.zip"), exc
            laid_out = None
        outside = _files_in(sent.parent) - _files_in(root)
        assert outside == {sent}  # nothing written outside staging
        assert not any(path.name.endswith(PARTIAL_SUFFIX) for path in _files_in(root))
        if laid_out is not None:
            assert done == len(opened.entries) and _files_in(root) == laid_out
            assert all(PurePosixPath(path.relative_to(root)).parts[0] != ".." for path in laid_out)
