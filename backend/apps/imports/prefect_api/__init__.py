"""The Django side's one conversation with Prefect: deployment and flow runs (`runs`), links
into Prefect's UI (`ui`) and the embedded server the command line runs on without a
server (`embedded`). Nothing else in the web apps imports Prefect (pyproject.toml's
import contracts check it).

The project's processes never phone home: importing this package turns Prefect's telemetry
off (its client reads DO_NOT_TRACK when Prefect is first imported, its server reads
PREFECT_SERVER_ANALYTICS_ENABLED), before any module of it imports Prefect. The flows call
`prefect_telemetry_off` themselves; the servers the project starts get NO_TELEMETRY.
"""
import os

NO_TELEMETRY = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def prefect_telemetry_off() -> None:
    """Prefect's client analytics and server telemetry off in this process and the ones it starts."""
    os.environ.update(NO_TELEMETRY)


prefect_telemetry_off()
