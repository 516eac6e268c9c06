"""The exchange protocol through Django's test client, up to the point where an import
would start: authentication and lock-out, cookies, init, streamed files, names, archives,
and the harmless answers to orders (`type=sale`)."""
from __future__ import annotations

import base64
import io
import os
import xml.etree.ElementTree as ET
import zipfile

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.imports.models import ImportSession
from apps.access.models import LoginFailure
from apps.onec_exchange.models import Exchange1C, ExchangeFile, ExchangeImport
from tests.exchange.client_1c import BOM, OneC, django_client_transport, zip_bytes
from tests.exchange.conftest import PASSWORD

# The preparation runs run in threads of their own (with their own database connections).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_english")]  # English answers

GUID = "0a1b2c3d-0000-0000-0000-000000000001"
REFUSED_LOGIN = (
    "login refused: wrong user name or password, or the user may not exchange with the site "
    "(the site's log and «Refused logins» in the admin say which)"
)


def _tree(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _only_inside(tmp_path) -> None:
    """Nothing was written outside the staging area and the exchange directory."""
    assert {p.name for p in tmp_path.iterdir()} <= {"import_1c", "staging"}
    assert not (tmp_path.parent / "evil.txt").exists()


# --- authentication ---------------------------------------------------------------------


def test_checkauth_opens_an_exchange_with_a_cookie_and_a_sessid(onec, exchange_user):
    lines = onec.checkauth()

    assert lines[0] == "success" and lines[1] == "onec_exchange" and lines[3] == f"sessid={lines[2]}"
    assert lines[4].startswith("timestamp=") and int(lines[4].split("=")[1]) > 0
    exchange = Exchange1C.objects.get()
    assert (exchange.user, exchange.client_ip, exchange.exchange_type) == (exchange_user, "127.0.0.1", "catalog")


def test_answers_are_utf8_with_a_byte_order_mark(client, exchange_user):
    response = client.get("/1c/exchange?type=catalog&mode=checkauth")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.startswith(BOM.encode("utf-8"))
    assert response.content.decode("utf-8")[1:].startswith("failure\nno HTTP Basic credentials")


def test_a_superuser_may_exchange_without_the_explicit_permission(client, exchange_dirs):
    User.objects.create_superuser("root", password="pw")
    assert OneC(django_client_transport(client), "root", "pw").checkauth()[0] == "success"


def test_a_wrong_password_is_refused_and_logged(onec):
    onec.password = "wrong"

    assert onec.checkauth() == ["failure", REFUSED_LOGIN]
    assert onec.request("init") == ["failure", "no exchange session: call mode=checkauth first and send its cookie"]
    failure = LoginFailure.objects.get()
    assert (failure.username, failure.client_ip) == ("onec", "127.0.0.1")
    assert not Exchange1C.objects.exists()


def test_a_user_without_the_permission_is_refused_even_with_the_right_password(client, exchange_dirs):
    User.objects.create_user("clerk", password="pw", is_staff=True)

    lines = OneC(django_client_transport(client), "clerk", "pw").checkauth()

    # The same answer as a wrong password: an anonymous caller learns nothing about it.
    assert lines == ["failure", REFUSED_LOGIN]
    failure = LoginFailure.objects.get()
    assert failure.username == "clerk" and "integrations.exchange_1c" in failure.reason


def test_failed_logins_lock_the_client_address_out(client, exchange_user, settings):
    settings.ONEC_EXCHANGE_AUTH_MAX_FAILURES = 3
    settings.ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES = 10

    def checkauth(password, address="10.0.0.1"):
        token = base64.b64encode(f"onec:{password}".encode()).decode()
        response = client.get("/1c/exchange", {"type": "catalog", "mode": "checkauth"},
                              HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR=address)
        return response.content.decode("utf-8")[1:].split("\n")

    for _ in range(3):
        assert checkauth("wrong")[0] == "failure"
    locked = checkauth(PASSWORD)

    assert locked == ["failure", "too many failed logins from 10.0.0.1: locked out for 10 minutes "
                      "(ONEC_EXCHANGE_AUTH_MAX_FAILURES / ONEC_EXCHANGE_AUTH_LOCKOUT_MINUTES)"]
    assert checkauth(PASSWORD, address="10.0.0.2")[0] == "success"
    assert LoginFailure.objects.count() == 3


@pytest.mark.parametrize("mode", ["init", "file", "import", "complete"])
def test_requests_without_the_exchange_cookie_fail(onec, mode):
    lines = onec.request(mode, filename="goods/goods.xml", body=b"<x/>" if mode == "file" else None)

    assert lines == ["failure", "no exchange session: call mode=checkauth first and send its cookie"]
    assert not ExchangeFile.objects.exists()


def test_a_closed_exchange_cookie_no_longer_works(onec):
    onec.checkauth()
    assert onec.complete() == ["success"]

    assert onec.request("init")[0] == "failure"


def test_with_or_without_the_slash_and_without_a_csrf_token(exchange_user, exchange_dirs):
    client = Client(enforce_csrf_checks=True)
    onec = OneC(django_client_transport(client), "onec", PASSWORD)
    onec.checkauth()
    onec.init()

    assert onec.send_file("goods/goods.xml", b"<x/>") == [["success"]]  # a POST to /1c/exchange/


def test_init_reports_the_limits(onec):
    onec.checkauth()

    assert onec.init()[:2] == ["zip=yes", "file_limit=65536"]
    assert onec.file_limit == 65536


# --- files ------------------------------------------------------------------------------


def test_a_file_in_pieces_is_appended_in_staging_and_a_resend_replaces_it(onec, exchange_dirs):
    onec.checkauth()
    onec.init()
    data = os.urandom(256_000)  # four pieces

    assert onec.send_file("import.zip", data) == [["success"]] * 4
    exchange = Exchange1C.objects.get()
    staged = exchange_dirs / "staging" / str(exchange.pk) / "import.zip"
    assert staged.read_bytes() == data
    onec.send_file("import.zip", data)  # 1C's own retry from the start

    assert staged.read_bytes() == data
    assert ExchangeFile.objects.get().size == len(data)
    assert _tree(exchange_dirs / "import_1c") == set()  # nothing reaches the exchange directory before import


def test_a_new_session_starts_a_file_afresh(onec, exchange_dirs):
    for _ in range(2):
        onec.checkauth()
        onec.init()
        onec.send_file("goods/goods.xml", b"<x>first</x>")
    onec.send_file("goods/goods.xml", b"<y/>")  # a second piece within the session

    latest = Exchange1C.objects.latest("pk")
    assert (exchange_dirs / "staging" / str(latest.pk) / "goods" / "goods.xml").read_bytes() == b"<x>first</x><y/>"


@pytest.mark.parametrize("name", ["../evil.txt", "goods/../../evil.txt", "/tmp/evil.txt", "evil\x00.txt",
                                  "C:\\Temp\\..\\..\\..\\evil.txt"])
def test_names_that_would_leave_the_staging_area_fail(onec, exchange_dirs, name):
    onec.checkauth()
    onec.init()

    (answer,) = onec.send_file(name, b"data")

    assert answer[0] == "failure"
    assert not ExchangeFile.objects.exists()
    _only_inside(exchange_dirs)


def test_windows_names_are_laid_out(onec, exchange_dirs):
    onec.checkauth()
    onec.init()

    onec.send_file(f"C:\\Users\\1c\\AppData\\Local\\Temp\\v8_12AB\\import_files\\0a\\{GUID}.jpg", b"\xff\xd8jpeg")

    staged = _tree(exchange_dirs / "staging")
    assert staged == {f"{Exchange1C.objects.get().pk}/goods/import_files/0a/{GUID}.jpg"}


# --- archives and import ------------------------------------------------------------------


def _import_archive(onec, archive: bytes, name="goods/goods.xml") -> list[str]:
    onec.checkauth()
    onec.init()
    onec.send_file("exchange.zip", archive)
    return onec.import_file(name)


def test_an_archive_with_entries_leaving_the_staging_area_is_refused(onec, exchange_dirs):
    answer = _import_archive(onec, zip_bytes({"goods/goods.xml": b"<x/>", "../../evil.txt": b"evil"}))

    assert answer[0] == "failure" and "'..'" in answer[1] and "exchange.zip" in answer[1]
    _only_inside(exchange_dirs)
    assert _tree(exchange_dirs / "import_1c") == set()


def test_an_archive_with_a_symlink_is_refused(onec, exchange_dirs):
    out = io.BytesIO(zip_bytes({"goods/goods.xml": b"<x/>"}))
    with zipfile.ZipFile(out, "a") as archive:
        link = zipfile.ZipInfo("goods/import_files/0a/link.jpg")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")

    answer = _import_archive(onec, out.getvalue())

    assert answer == ["failure", "archive exchange.zip holds a symbolic link 'goods/import_files/0a/link.jpg': refused"]


def test_a_zip_bomb_is_refused(onec, exchange_dirs, settings):
    answer = _import_archive(onec, zip_bytes({"goods/goods.xml": b"<x/>", "goods/big.xml": b"\0" * 50_000_000}))

    assert answer[0] == "failure" and "zip bomb" in answer[1]
    _only_inside(exchange_dirs)
    assert _tree(exchange_dirs / "import_1c") == set()


def test_too_many_entries_are_refused(onec, exchange_dirs, settings):
    settings.ONEC_EXCHANGE_ZIP_MAX_ENTRIES = 2

    answer = _import_archive(onec, zip_bytes({f"goods/{n}.xml": b"<x/>" for n in range(3)}))

    assert answer[0] == "failure" and "ONEC_EXCHANGE_ZIP_MAX_ENTRIES=2" in answer[1]


def test_a_truncated_archive_is_refused_and_can_be_sent_again(onec, exchange_dirs):
    archive = zip_bytes({"units/units.xml": b"<x/>" * 1000})

    answer = _import_archive(onec, archive[: len(archive) // 2], name="units/units.xml")

    assert answer[0] == "failure" and "incomplete or damaged" in answer[1] and "send it again" in answer[1]
    onec.send_file("exchange.zip", archive)
    assert onec.import_file("units/units.xml") == ["success", "units/units.xml: received, nothing to import from it"]


class _DosNameInfo(zipfile.ZipInfo):
    """What an old archiver writes: the name in cp866, without the UTF-8 flag."""

    __slots__ = ()

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp866"), self.flag_bits & ~0x800


def test_cp866_entry_names_are_read(onec, exchange_dirs):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_DosNameInfo("units/единицы.xml"), b"<x/>")

    answer = _import_archive(onec, buffer.getvalue(), name="units/единицы.xml")

    assert answer == ["success", "units/единицы.xml: received, nothing to import from it"]
    assert _tree(exchange_dirs / "import_1c") == {"units/единицы.xml"}


def test_an_entry_longer_to_unpack_than_a_poll_never_holds_one(onec, exchange_dirs, settings):
    """One entry that takes seconds to unpack (48 MB of bzip2: 3-7 s here) is unpacked
    while `import` polls answer `progress` in time, and arrives whole."""
    settings.ONEC_EXCHANGE_FILE_LIMIT = 16 * 2**20
    units = os.urandom(24 * 2**20).hex().encode()  # 48 MB that bzip2 halves (far below the ratio cap)
    archive = zip_bytes({"units/units.xml": units}, compression=zipfile.ZIP_BZIP2)

    answer = _import_archive(onec, archive, name="units/units.xml")

    assert answer == ["success", "units/units.xml: received, nothing to import from it"]
    unpacking = [lines for lines in onec.answers if lines[0] == "progress" and "(units/units.xml: " in lines[1]]
    assert unpacking, f"no poll answered while the entry was unpacked ({onec.answers[-3:]}): make it larger"
    assert onec.slowest_import_answer <= 2.0, f"an import poll took {onec.slowest_import_answer:.1f} s"
    assert (exchange_dirs / "import_1c" / "units" / "units.xml").read_bytes() == units
    assert _tree(exchange_dirs / "staging") == set()


def test_import_of_a_file_never_sent_fails(onec, exchange_dirs):
    onec.checkauth()
    onec.init()

    assert onec.import_file("goods/goods.xml") == [
        "failure", "goods/goods.xml was never sent in this exchange (looked for goods/goods.xml): send it with mode=file first"
    ]
    assert not ImportSession.objects.exists() and not ExchangeImport.objects.exists()


def test_a_file_nothing_reads_is_laid_out_and_answered_success(onec, exchange_dirs):
    onec.checkauth()
    onec.init()
    onec.send_file("units.xml", b"<units/>")

    assert onec.import_file("units.xml") == ["success", "units.xml: received, nothing to import from it"]
    assert (exchange_dirs / "import_1c" / "units" / "units.xml").read_bytes() == b"<units/>"
    assert not ImportSession.objects.exists()


# --- orders -------------------------------------------------------------------------------


def test_orders_are_answered_harmlessly(onec, exchange_dirs):
    onec.exchange_type = "sale"
    assert onec.checkauth()[0] == "success"
    assert onec.init()[0] == "zip=yes"

    status, raw = onec.transport("GET", "type=sale&mode=query", None, {"Cookie": onec.cookie})
    root = ET.fromstring(raw.decode("utf-8").lstrip(BOM).encode("utf-8"))

    assert status == 200 and root.tag == "КоммерческаяИнформация" and len(root) == 0
    assert onec.send_file("orders.xml", b"<x/>") == [["success"]]
    assert onec.request("success") == ["success"]
    assert _tree(exchange_dirs / "import_1c") == set() and not (exchange_dirs / "staging").exists()


def _checkauth_from(client, remote_addr: str, **headers) -> None:
    token = base64.b64encode(f"onec:{PASSWORD}".encode()).decode()
    client.get("/1c/exchange", {"type": "catalog", "mode": "checkauth"},
               HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR=remote_addr, **headers)


def _client_ips() -> list[str]:
    return list(Exchange1C.objects.order_by("pk").values_list("client_ip", flat=True))


def test_a_forwarded_header_is_ignored_without_trusted_proxies(client, exchange_user, settings):
    # The client writes X-Forwarded-For itself: believing it would let it dodge the lock-out.
    _checkauth_from(client, "198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    settings.ONEC_EXCHANGE_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    _checkauth_from(client, "198.51.100.9", HTTP_X_REAL_IP="203.0.113.7")

    assert _client_ips() == ["198.51.100.9", "198.51.100.9"]


def test_behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client(client, exchange_user, settings):
    settings.ONEC_EXCHANGE_TRUSTED_PROXIES = ["10.0.0.1", "192.168.0.0/16"]

    # what the client wrote (1.2.3.4) comes first; the proxies append what they saw
    _checkauth_from(client, "10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7, 192.168.1.5")
    _checkauth_from(client, "198.51.100.9", HTTP_X_FORWARDED_FOR="1.2.3.4")  # not through a proxy
    settings.ONEC_EXCHANGE_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    _checkauth_from(client, "10.0.0.1", HTTP_X_REAL_IP="203.0.113.8", HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert _client_ips() == ["203.0.113.7", "198.51.100.9", "203.0.113.8"]


def test_attempts_at_once_are_counted_before_the_password_is_checked(client, exchange_user, settings, monkeypatch):
    from apps.onec_exchange.services import auth as exchange_http

    settings.ONEC_EXCHANGE_AUTH_MAX_FAILURES = 1
    real_authenticate, answers = exchange_http.authenticate, []

    def authenticate_while_another_attempt_comes(**kwargs):
        if not answers:  # a second attempt while the first one's password is checked
            token = base64.b64encode(b"onec:also-wrong").decode()
            response = client.get("/1c/exchange", {"type": "catalog", "mode": "checkauth"}, HTTP_AUTHORIZATION=f"Basic {token}")
            answers.append(response.content.decode("utf-8")[1:].split("\n"))
        return real_authenticate(**kwargs)

    monkeypatch.setattr(exchange_http, "authenticate", authenticate_while_another_attempt_comes)
    onec = OneC(django_client_transport(client), "onec", "wrong")

    assert onec.checkauth()[0] == "failure"
    assert answers[0][0] == "failure" and answers[0][1].startswith("too many failed logins from 127.0.0.1")
    assert LoginFailure.objects.count() == 1


def test_files_of_a_closed_exchange_are_not_mixed_into_the_next(onec, exchange_dirs):
    onec.checkauth()
    onec.init()
    onec.send_file("units/old.xml", b"<old/>")  # never imported: 1C closed without asking
    onec.complete()

    onec.checkauth()
    onec.init()
    onec.send_file("units/new.xml", b"<new/>")

    assert onec.import_file("units/new.xml")[0] == "success"
    assert _tree(exchange_dirs / "import_1c") == {"units/new.xml"}
    first = Exchange1C.objects.earliest("pk")
    assert (exchange_dirs / "staging" / str(first.pk) / "units" / "old.xml").read_bytes() == b"<old/>"  # kept


def test_complete_leaves_an_exchange_still_talking_open(onec, exchange_dirs, client):
    other = OneC(django_client_transport(client), "onec", PASSWORD)
    other.checkauth()  # another 1C base with the same account, mid-exchange
    onec.checkauth()
    other.init()

    assert onec.complete() == ["success"]
    assert other.init()[0] == "zip=yes"
    assert Exchange1C.objects.filter(closed_at__isnull=True).count() == 1


def test_two_entries_of_one_path_are_unpacked_once(onec, exchange_dirs):
    # `units/units.xml` and `units\units.xml` both lay out as units/units.xml: the later wins.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("units/units.xml", b"<first/>")
        archive.writestr("units\\units.xml", b"<second/>")

    answer = _import_archive(onec, buffer.getvalue(), name="units/units.xml")

    assert answer == ["success", "units/units.xml: received, nothing to import from it"]
    assert (exchange_dirs / "import_1c" / "units" / "units.xml").read_bytes() == b"<second/>"


def test_an_archive_that_cannot_be_unpacked_is_dropped_and_the_next_exchange_works(onec, exchange_dirs):
    long_name = "units/" + "я" * 200 + ".xml"  # 400 bytes: longer than a file name may be

    answer = _import_archive(onec, zip_bytes({"units/units.xml": b"<x/>", long_name: b"<x/>"}), name="units/units.xml")

    # Refused before unpacking, by name (staging.MAX_NAME_BYTES), not by the file system's error.
    assert answer[0] == "failure" and "exchange.zip" in answer[1]
    assert "is longer than 245 bytes, more than a file system holds: refused; shorten it in 1C" in answer[1]
    assert not ExchangeFile.objects.filter(path="exchange.zip").exists()
    assert not (exchange_dirs / "staging" / str(Exchange1C.objects.get().pk) / "exchange.zip").exists()
    onec.send_file("exchange.zip", zip_bytes({"units/units.xml": b"<x/>"}))
    assert onec.import_file("units/units.xml") == ["success", "units/units.xml: received, nothing to import from it"]


def test_a_file_that_cannot_be_moved_is_dropped(onec, exchange_dirs, monkeypatch):
    from apps.onec_exchange.services import staging

    def no_space(source, target):
        raise OSError(28, "No space left on device")

    onec.checkauth()
    onec.init()
    onec.send_file("units/units.xml", b"<x/>")
    monkeypatch.setattr(staging, "staging_move", no_space)

    answer = onec.import_file("units/units.xml")

    assert answer[0] == "failure" and "units/units.xml" in answer[1] and "(no space left on the disk)" in answer[1]
    assert not ExchangeFile.objects.exists()
    monkeypatch.undo()
    onec.send_file("units/units.xml", b"<x/>")
    assert onec.import_file("units/units.xml") == ["success", "units/units.xml: received, nothing to import from it"]


def test_files_that_came_out_of_an_archive_are_never_unpacked(onec, exchange_dirs):
    # A .docx is a zip, and so is an archive inside the archive: both are files as sent
    # (nesting would slip past the size and ratio caps).
    docx = zip_bytes({"word/document.xml": b"<w/>"})
    inner = zip_bytes({"units/inner.xml": b"<inner/>"})
    archive = zip_bytes({"units/units.xml": b"<x/>", "inner.zip": inner, "goods/import_files/0a/spec.docx": docx})

    answer = _import_archive(onec, archive, name="units/units.xml")

    assert answer == ["success", "units/units.xml: received, nothing to import from it"]
    data = exchange_dirs / "import_1c"
    assert _tree(data) == {"units/units.xml", "inner.zip", "goods/import_files/0a/spec.docx"}
    assert (data / "inner.zip").read_bytes() == inner and (data / "goods/import_files/0a/spec.docx").read_bytes() == docx
    assert not ExchangeFile.objects.filter(path__in=["inner.zip", "goods/import_files/0a/spec.docx"], is_archive=True).exists()


def test_an_unexpected_error_is_answered_without_its_details(client, exchange_dirs, monkeypatch, caplog):
    from apps.onec_exchange import views as exchange_views

    def broken(**kwargs):
        raise RuntimeError("password=hunter2 at /srv/secret/path")

    monkeypatch.setattr(exchange_views, "exchange_checkauth", broken)

    lines = OneC(django_client_transport(client), "onec", PASSWORD).checkauth()

    assert lines == ["failure", "the site failed to answer mode=checkauth; its log has the details"]
    assert "hunter2" in caplog.text  # the details are logged
