"""The Django side's one conversation with Prefect: deployment and flow runs (`runs`), links
into Prefect's UI (`ui`) and the embedded server the command line runs on without a
server (`embedded`). Nothing else in the web apps imports Prefect (pyproject.toml's
import contracts check it)."""
