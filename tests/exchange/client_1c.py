"""A 1C client simulator: it speaks the site-exchange protocol as 1C does (checkauth with
HTTP Basic, the cookie from the answer's lines, init, files in `file_limit` pieces, import
polled until it stops answering `progress`, complete), over any transport: Django's test
client or real HTTP."""
from __future__ import annotations

import base64
import http.client
import io
import ssl
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

BOM = "\ufeff"
# transport(method, query, body, headers) -> (HTTP status, body bytes)
Transport = Callable[[str, str, bytes | None, dict], tuple[int, bytes]]


def http_transport(base_url: str, *, ssl_context: ssl.SSLContext | None = None) -> Transport:
    """Real HTTP to a live server, one connection per request as 1C makes them; HTTPS for an
    https:// URL, trusting what `ssl_context` trusts."""
    parts = urlsplit(base_url)

    def send(method: str, query: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=120, context=ssl_context)
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        try:
            connection.request(method, f"/1c/exchange?{query}", body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    return send


def django_client_transport(client) -> Transport:
    """Django's test client, cookies only as the simulator sends them."""

    def send(method: str, query: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
        client.cookies.clear()
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        if method == "POST":
            response = client.generic("POST", f"/1c/exchange/?{query}", data=body or b"",
                                      content_type="application/octet-stream", **extra)
        else:
            response = client.get(f"/1c/exchange?{query}", **extra)
        return response.status_code, response.content

    return send


@dataclass
class OneC:
    transport: Transport
    username: str
    password: str
    exchange_type: str = "catalog"
    cookie: str | None = None
    timestamp: str = ""
    file_limit: int = 0
    zip: bool = False
    poll_seconds: float = 0.2
    slowest_import_answer: float = 0.0
    answers: list[list[str]] = field(default_factory=list)

    def request(self, mode: str, *, body: bytes | None = None, auth: bool = False, **params) -> list[str]:
        query = urlencode({"type": self.exchange_type, "mode": mode, **params})
        headers = {}
        if auth:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        if self.cookie:
            headers["Cookie"] = self.cookie
        status, raw = self.transport("POST" if body is not None else "GET", query, body, headers)
        assert status == 200, (status, raw[:500])
        text = raw.decode("utf-8")
        assert text.startswith(BOM), f"answer without a BOM: {text[:200]!r}"
        lines = text[1:].split("\n")
        self.answers.append(lines)
        return lines

    def checkauth(self) -> list[str]:
        self.cookie = None
        lines = self.request("checkauth", auth=True)
        if lines[0] == "success":
            self.cookie = f"{lines[1]}={lines[2]}"
            self.timestamp = next(line.split("=", 1)[1] for line in lines if line.startswith("timestamp="))
        return lines

    def init(self) -> list[str]:
        lines = self.request("init", version="3.1")
        values = dict(line.split("=", 1) for line in lines if "=" in line)
        self.zip, self.file_limit = values.get("zip") == "yes", int(values["file_limit"])
        return lines

    def send_file(self, name: str, data: bytes) -> list[list[str]]:
        """A file in pieces of at most file_limit bytes; the answers of every piece."""
        pieces = [data[start:start + self.file_limit] for start in range(0, len(data), self.file_limit)] or [b""]
        return [self.request("file", filename=name, body=piece) for piece in pieces]

    def import_file(self, name: str, *, timeout: float = 240) -> list[str]:
        """Poll `import` until the answer is not `progress`; keeps the slowest answer's time."""
        return self._poll("import", timeout=timeout, filename=name)

    def deactivate(self, *, timeout: float = 240) -> list[str]:
        """`deactivate` after a full exchange (1C sends the timestamp of its checkauth), polled like `import`."""
        return self._poll("deactivate", timeout=timeout, timestamp=self.timestamp)

    def _poll(self, mode: str, *, timeout: float, **params) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            started = time.monotonic()
            lines = self.request(mode, **params)
            self.slowest_import_answer = max(self.slowest_import_answer, time.monotonic() - started)
            if lines[0] != "progress":
                return lines
            assert time.monotonic() < deadline, f"{mode} {params} still in progress after {timeout} s: {lines}"
            time.sleep(self.poll_seconds)

    def complete(self) -> list[str]:
        return self.request("complete")

    # --- whole exchanges, as 1C runs them --------------------------------------------

    def exchange_one_zip(self, files: dict[str, bytes], *, archive_name: str = "import.zip", full: bool = False
                         ) -> dict[str, list[str]]:
        """One session: the files as one archive in file_limit pieces, then `import` of every
        XML in the archive's order (and, for a `full` exchange, `deactivate`); returns each
        XML's final answer (and deactivate's, as "mode=deactivate")."""
        assert self.checkauth()[0] == "success"
        self.init()
        assert self.zip
        for answer in self.send_file(archive_name, zip_bytes(files)):
            assert answer == ["success"], answer
        results = {name: self.import_file(name) for name in files if name.endswith(".xml")}
        return self._end(results, full=full)

    def exchange_per_file(self, files: dict[str, bytes], *, full: bool = False) -> dict[str, list[str]]:
        """A session per file without archives (the newer 1C): checkauth, init, file and, for
        XML, import; pictures first, as 1C sends them; then one session saying (for a `full`
        exchange, deactivate and) complete."""
        results = {}
        for name in sorted(files, key=lambda name: name.endswith(".xml")):
            assert self.checkauth()[0] == "success"
            self.init()
            for answer in self.send_file(name, files[name]):
                assert answer == ["success"], answer
            if name.endswith(".xml"):
                results[name] = self.import_file(name)
        assert self.checkauth()[0] == "success"
        return self._end(results, full=full)

    def _end(self, results: dict[str, list[str]], *, full: bool) -> dict[str, list[str]]:
        if full:
            results["mode=deactivate"] = self.deactivate()
        assert self.complete()[0] == "success"
        return results


def exchange_files(root: Path) -> dict[str, bytes]:
    """Every file of an exchange directory by its relative name, XML in the order 1C sends
    them (groups, properties, goods, then the offers' kinds)."""
    order = ["groups", "propertiesGoods", "units", "goods", "offers", "priceLists", "prices", "storages", "rests"]
    paths = sorted(
        (p for p in root.rglob("*") if p.is_file() and p.name != "README.md"),
        key=lambda p: (p.suffix == ".xml", order.index(p.parts[len(root.parts)]) if p.parts[len(root.parts)] in order else 99, str(p)),
    )
    return {str(p.relative_to(root)): p.read_bytes() for p in paths}


def zip_bytes(files: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
