"""The files of deploy/ run on this machine as a server runs them: the web server started
with the `ExecStart` of deploy/systemd/onec-web.service, and Debian's nginx with the site
deploy/nginx/onec-images.conf in front of it (TLS with a self-signed certificate, the
Prefect UI behind a password). Only the install path, the ports, the media path and the
certificate are rewritten, each where the file says it exactly once, so what runs is what a
server runs and an edit that the rewriting no longer finds fails loudly.

Both run on 127.0.0.1 beside a LocalStack (its Prefect server, workers, database and
directories), as processes of that stack. tests/e2e/test_deployment.py and
bench/production_load.py use it.
"""
from __future__ import annotations

import http.client
import os
import shlex
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from devtools.ports import free_port
from devtools.stack import REPO_DIR, LocalStack, StackError

DEPLOY_DIR = REPO_DIR / "deploy"
UNITS_DIR = DEPLOY_DIR / "systemd"
NGINX_SITE = DEPLOY_DIR / "nginx" / "onec-images.conf"
ENV_TEMPLATE = DEPLOY_DIR / "onec-images.env"
# Where the units and the site expect things on a server (docs/deploying.md).
INSTALL_DIR = "/opt/onec-images"
SITE_MEDIA_ROOT = "/var/lib/onec-images/media/"
SITE_CERTIFICATE = "/etc/letsencrypt/live/shop.example.com/fullchain.pem"
SITE_CERTIFICATE_KEY = "/etc/letsencrypt/live/shop.example.com/privkey.pem"
SITE_HTPASSWD = "/etc/nginx/onec-prefect.htpasswd"
NGINX = Path("/usr/sbin/nginx")
# The test settings (tests/environment.py, and the tests' stack's settings module) that
# production does not have: without them the web server runs with the production defaults
# (HTTPS redirect, secure cookies, HSTS, WhiteNoise's hashed static files, config.settings).
DEVELOPMENT_ONLY = ("DJANGO_DEBUG", "DJANGO_SECURE_SSL_REDIRECT", "DJANGO_SECURE_COOKIES",
                    "DJANGO_SECURE_HSTS_SECONDS", "DJANGO_STATICFILES_STORAGE", "DJANGO_SETTINGS_MODULE")


def unit_option(unit: str, option: str) -> str:
    """The value of `option` (e.g. ExecStart) in deploy/systemd/<unit>; exactly one line."""
    values = [line.split("=", 1)[1].strip() for line in (UNITS_DIR / unit).read_text().splitlines()
              if line.startswith(f"{option}=")]
    if len(values) != 1:
        raise StackError(f"deploy/systemd/{unit}: expected one {option}= line, found {len(values)}")
    return values[0]


def unit_command(unit: str, **replacements: str) -> list[str]:
    """The unit's ExecStart as argv, run from this checkout: the install path's venv becomes
    this interpreter's, the install path this repository; each of `replacements` (an
    argument of the command -> its value here) must be in it."""
    command = shlex.split(unit_option(unit, "ExecStart"))
    venv_bin = f"{INSTALL_DIR}/.venv/bin/"
    command = [str(Path(sys.executable).parent / arg.removeprefix(venv_bin)) if arg.startswith(venv_bin)
               else arg.replace(INSTALL_DIR, str(REPO_DIR)) for arg in command]
    for old, new in replacements.items():
        if old not in command:
            raise StackError(f"deploy/systemd/{unit}: {old!r} is not an argument of its ExecStart {command}")
        command = [new if arg == old else arg for arg in command]
    return command


def _replace_once(text: str, old: str, new: str, *, count: int = 1) -> str:
    if text.count(old) != count:
        raise StackError(f"{NGINX_SITE.relative_to(REPO_DIR)}: expected {old!r} {count} time(s), "
                         f"found {text.count(old)}; the rewriting for the test needs updating")
    return text.replace(old, new)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (openssl)."""
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    return certificate, key


def htpasswd_line(user: str, password: str) -> str:
    """A line of an nginx password file (apr1, as `htpasswd` writes it)."""
    hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True, capture_output=True,
                            text=True).stdout.strip()
    return f"{user}:{hashed}\n"


class ProductionSite:
    """The web server from its unit and nginx from its site, on free ports of 127.0.0.1, in
    front of `stack` (its database, Prefect server and directories). `https_url` is the site,
    `http_url` its plain-HTTP server, `prefect_url` the Prefect UI behind `prefect_auth`,
    `web_url` gunicorn itself (plain HTTP, no proxy)."""

    def __init__(self, stack: LocalStack, *, name: str = "production", web_env: dict[str, str] | None = None):
        self.stack = stack
        self.root = stack.root / name
        self.nginx_prefix = self.root / "nginx"
        self.static_root = self.root / "static"
        ports = {key: free_port() for key in ("web", "http", "https", "prefect")}
        self.web_url = f"http://127.0.0.1:{ports['web']}"
        self.http_url = f"http://127.0.0.1:{ports['http']}"
        self.https_url = f"https://127.0.0.1:{ports['https']}"
        self.prefect_url = f"https://127.0.0.1:{ports['prefect']}"
        self.prefect_auth = ("staff", "prefect-ui-password")
        self.certificate: Path | None = None
        self.web_env = {
            **{name: value for name, value in stack.env.items() if name not in DEVELOPMENT_ONLY},
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "STATIC_ROOT": str(self.static_root),
            "ONEC_EXCHANGE_TRUSTED_PROXIES": "127.0.0.1",
            "PREFECT_UI_URL": self.prefect_url,
            **(web_env or {}),
        }
        self._first_process = len(stack.processes)
        self.web = self.nginx = None

    def start(self) -> None:
        """collectstatic, the web server, then nginx; each answering before the next."""
        if not NGINX.exists():
            raise StackError(f"{NGINX} is missing: apt-get install nginx (./dev test installs it)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.stack.manage("collectstatic", "--noinput", "-v", "0", env=self.web_env)
        bind = self.web_url.removeprefix("http://")
        self.web = self.stack.start(f"{self.root.name}-web", *unit_command("onec-web.service", **{"127.0.0.1:8000": bind}),
                                    env=self.web_env)
        self.wait_for(f"{self.web_url}/healthz")  # the one page production serves over plain HTTP
        self.certificate, key = self_signed_certificate(self.root / "tls")
        self._write_nginx_config(key)
        self.nginx = self.stack.start(f"{self.root.name}-nginx", str(NGINX), "-p", f"{self.nginx_prefix}/",
                                      "-c", str(self.nginx_prefix / "nginx.conf"), "-e", "stderr")
        self.wait_for(f"{self.https_url}/admin/login/")

    def _write_nginx_config(self, key: Path) -> None:
        """The site, rewritten for this machine, in a main configuration like Debian's
        /etc/nginx/nginx.conf (mime types, the site included in `http`)."""
        prefix = self.nginx_prefix
        for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / folder).mkdir(parents=True, exist_ok=True)
        (prefix / "htpasswd").write_text(htpasswd_line(*self.prefect_auth))
        # Its directives without the comments (which name the paths too) and IPv6 listeners.
        site = "\n".join(line for line in NGINX_SITE.read_text().splitlines()
                         if not line.strip().startswith(("#", "listen [::]")))
        for listen, url in (("listen 80;", self.http_url), ("listen 443 ssl", self.https_url),
                            ("listen 8443 ssl", self.prefect_url)):
            port = listen.split()[1].rstrip(";")
            site = _replace_once(site, listen, listen.replace(port, f"127.0.0.1:{urlsplit(url).port}"))
        site = _replace_once(site, "server 127.0.0.1:8000;", f"server {self.web_url.removeprefix('http://')};")
        site = _replace_once(site, "server 127.0.0.1:4200;", f"server 127.0.0.1:{self.stack.prefect_port};")
        site = _replace_once(site, SITE_CERTIFICATE, str(self.certificate), count=2)
        site = _replace_once(site, SITE_CERTIFICATE_KEY, str(key), count=2)
        site = _replace_once(site, SITE_HTPASSWD, str(prefix / "htpasswd"))
        media_root = str(self.stack.env["MEDIA_ROOT"]).rstrip("/") + "/"
        site = _replace_once(site, SITE_MEDIA_ROOT, media_root, count=2)
        (prefix / "site.conf").write_text(site)
        # Run as root (a container), the workers would become `nobody`, who cannot read the
        # stack's private temporary folders.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(f"""{user}worker_processes 2;
daemon off;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    log_format timed '$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time $upstream_response_time';
    access_log {prefix}/access.log timed;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
""")

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the site's self-signed certificate (and only it)."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def connection(self, url: str, *, timeout: float = 120) -> http.client.HTTPConnection:
        parts = urlsplit(url)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=self.ssl_context())
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def get(self, url: str, *, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        """One GET: status, headers (lower-case names; repeated ones joined by ', '), body."""
        parts = urlsplit(url)
        connection = self.connection(url)
        try:
            connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
            response = connection.getresponse()
            names = {name.lower() for name in response.headers}
            return response.status, {name: ", ".join(response.headers.get_all(name)) for name in names}, response.read()
        finally:
            connection.close()

    def wait_for(self, url: str, *, headers: dict | None = None, seconds: float = 90) -> None:
        """Until `url` answers 200 (the stack's logs if a part exits or time runs out)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.get(url, headers=headers)[0] == 200:
                    return
            except OSError:
                pass
            if any(process.poll() is not None for process in (self.web, self.nginx) if process is not None):
                raise StackError(f"a part of the production site exited while waiting for {url}:\n{self.stack.logs()}")
            time.sleep(0.5)
        raise StackError(f"{url} did not answer 200 in {seconds:.0f} s:\n{self.stack.logs()}")

    def web_worker_pids(self) -> list[int]:
        """gunicorn's worker processes (the master's children)."""
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self) -> None:
        """nginx and the web server; the stack's other processes keep running."""
        self.stack.stop(since=self._first_process)
