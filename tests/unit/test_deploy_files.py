"""The files of deploy/ agree with the code and with each other: the units run what
`./dev stack` runs (tests/e2e/test_deployment.py runs the web unit and the nginx site
themselves), a worker serves every work pool of prefect.yaml, the nginx site takes 1C's
file limit and serves the media folder of the environment file, whose every variable is in
the settings reference."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from config import gunicorn as gunicorn_settings

from devtools.deployment import ENV_TEMPLATE, INSTALL_DIR, NGINX_SITE, SITE_MEDIA_ROOT, UNITS_DIR, unit_command, unit_option
from devtools.stack import IMPORTS_POOL, IMPORTS_WORKER_ARGS, REPO_DIR, prefect_server_args, shard_worker_args
from flows.shards import SHARD_POOL

SERVICES = sorted(path.name for path in UNITS_DIR.glob("*.service"))
SITE = NGINX_SITE.read_text()


def _template() -> dict[str, str]:
    return dict(line.split("=", 1) for line in ENV_TEMPLATE.read_text().splitlines() if line and not line.startswith("#"))


def _args(unit: str) -> tuple[str, ...]:
    """The unit's command after its program (and after `python` for a module)."""
    return tuple(unit_command(unit)[1:])


@pytest.mark.parametrize("unit", SERVICES)
def test_every_service_runs_from_the_install_as_its_user_with_the_environment_file(unit):
    assert unit_option(unit, "User") == unit_option(unit, "Group") == "onec-images"
    assert unit_option(unit, "WorkingDirectory") == INSTALL_DIR
    assert unit_option(unit, "EnvironmentFile") == "/etc/onec-images/onec-images.env"
    program = Path(unit_command(unit)[0])
    assert unit_option(unit, "ExecStart").startswith(f"{INSTALL_DIR}/.venv/bin/{program.name} ")
    assert program.is_file(), f"{unit}: {program} is not in this checkout's virtualenv"


def test_the_units_run_what_the_stack_runs():
    port = 4200
    assert _args("onec-prefect-server.service") == prefect_server_args(port)
    assert _args("onec-imports-worker.service") == IMPORTS_WORKER_ARGS
    assert _args("onec-shard-worker.service") == shard_worker_args("%H")  # systemd puts the host name there
    assert _args("onec-reconcile.service") == ("backend/manage.py", "reconcile_import_sessions")
    assert _args("onec-web.service") == ("--config", "python:config.gunicorn", "--bind", "127.0.0.1:8000")
    assert "upstream onec_web {\n    server 127.0.0.1:8000;" in SITE
    assert f"upstream onec_prefect {{\n    server 127.0.0.1:{port};" in SITE
    assert _template()["PREFECT_API_URL"] == f"http://127.0.0.1:{port}/api"


def test_the_import_workers_yield_the_cpu_to_the_web_server():
    # bench/production_load.py starts the imports worker at this niceness too.
    assert int(unit_option("onec-imports-worker.service", "Nice")) == int(unit_option("onec-shard-worker.service", "Nice")) == 10
    assert "Nice=" not in (UNITS_DIR / "onec-web.service").read_text()


def test_a_worker_serves_every_work_pool_of_prefect_yaml():
    deployments = yaml.safe_load((REPO_DIR / "prefect.yaml").read_text())["deployments"]
    pools = {deployment["work_pool"]["name"] for deployment in deployments}
    imports_worker = _args("onec-imports-worker.service")
    served = {imports_worker[imports_worker.index("--pool") + 1], SHARD_POOL}
    assert "flows.shard_worker" in _args("onec-shard-worker.service")  # which serves SHARD_POOL
    assert pools == served == {IMPORTS_POOL, SHARD_POOL}


def test_the_target_starts_every_long_running_unit():
    wanted = set(unit_option("onec-images.target", "Wants").split())
    assert wanted == {*SERVICES, "onec-reconcile.timer"} - {"onec-reconcile.service"}  # the timer starts it
    assert unit_option("onec-reconcile.timer", "OnUnitActiveSec") == "5min"


def test_nginx_takes_1cs_file_limit_on_the_exchange_and_little_elsewhere():
    exchange = re.search(r"location /1c/exchange \{(.*?)\}", SITE, re.S).group(1)
    (limit,) = re.findall(r"client_max_body_size (\d+)m;", exchange)
    assert int(limit) * 1024 * 1024 == settings.ONEC_EXCHANGE_FILE_LIMIT == int(_template()["ONEC_EXCHANGE_FILE_LIMIT"])
    assert re.findall(r"^    client_max_body_size (\S+);", SITE, re.M) == ["1m", "10m"]  # the site; the Prefect UI
    assert "proxy_request_buffering on;" in exchange
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", exchange).group(1))
    assert read_timeout > gunicorn_settings.timeout  # a stuck worker is gunicorn's to kill


def test_nginx_serves_the_media_folder_of_the_environment_file_and_passes_what_django_reads():
    assert _template()["MEDIA_ROOT"] + "/" == SITE_MEDIA_ROOT
    assert f"alias {SITE_MEDIA_ROOT};" in SITE and f"alias {SITE_MEDIA_ROOT}renditions/;" in SITE
    for header in ("Host $http_host", "X-Forwarded-Proto $scheme", "X-Forwarded-For $remote_addr",
                   "Authorization $http_authorization"):
        assert f"proxy_set_header {header};" in SITE
    assert _template()["ONEC_EXCHANGE_TRUSTED_PROXIES"] == "127.0.0.1"


def test_every_variable_of_the_environment_file_is_in_the_settings_reference():
    reference = (REPO_DIR / "docs" / "settings.md").read_text()
    missing = [name for name in _template() if f"`{name}`" not in reference]
    assert not missing, f"add these to docs/settings.md: {missing}"
