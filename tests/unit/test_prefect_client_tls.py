"""The project's Prefect client makes its TLS context once, and keeps to Prefect's TLS
settings: the CA file of PREFECT_API_SSL_CERT_FILE, or no verification with
PREFECT_API_TLS_INSECURE_SKIP_VERIFY (a server behind HTTPS with its own certificate)."""
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from prefect.settings import (
    PREFECT_API_SSL_CERT_FILE,
    PREFECT_API_TLS_INSECURE_SKIP_VERIFY,
    PREFECT_API_URL,
    temporary_settings,
)

from apps.imports.prefect_api.runs import prefect_client
from devtools.deployment import self_signed_certificate


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args):
        pass


@pytest.fixture
def https_api(tmp_path):
    """An HTTPS server answering Prefect's health check, with a self-signed certificate."""
    certificate, key = self_signed_certificate(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/api", certificate
    server.shutdown()
    server.server_close()


def _healthy(settings: dict) -> bool:
    with temporary_settings(updates=settings), prefect_client(timeout=5) as client:
        return client.api_healthcheck() is None  # None when the server answered


def test_the_certificate_file_setting_is_kept(https_api):
    url, certificate = https_api

    assert _healthy({PREFECT_API_URL: url, PREFECT_API_SSL_CERT_FILE: str(certificate)})
    assert _healthy({PREFECT_API_URL: url, PREFECT_API_SSL_CERT_FILE: str(certificate)})  # the context made before
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_API_SSL_CERT_FILE: None}):
            with prefect_client(timeout=5) as client:
                client.hello()


def test_skipping_verification_is_kept(https_api):
    url, _ = https_api

    assert _healthy({PREFECT_API_URL: url, PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True})
