"""prefect.yaml and flows/registry.py describe the same deployments."""
from pathlib import Path

import pytest
import yaml

from flows.registry import FLOWS_BY_IMPORT_TYPE, deployment_name

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


@pytest.fixture(scope="module")
def deployments() -> dict[str, dict]:
    config = yaml.safe_load(PREFECT_YAML.read_text())
    return {deployment["name"]: deployment for deployment in config["deployments"]}


def test_every_registered_flow_has_a_deployment_and_nothing_else(deployments):
    assert set(deployments) == set(FLOWS_BY_IMPORT_TYPE), (
        "prefect.yaml needs one deployment per import type in flows/registry.py, named after the type"
    )


@pytest.mark.parametrize("import_type", sorted(FLOWS_BY_IMPORT_TYPE))
def test_deployment_runs_the_registered_flow_one_at_a_time_on_the_process_pool(deployments, import_type):
    deployment = deployments[import_type]
    flow = FLOWS_BY_IMPORT_TYPE[import_type]
    path, function = deployment["entrypoint"].split(":")

    assert function == flow.fn.__name__ and Path(flow.fn.__code__.co_filename) == PREFECT_YAML.parent / path
    assert deployment_name(import_type) == f"{flow.name}/{import_type}"
    assert deployment["work_pool"]["name"] == "onec-imports"
    assert deployment["concurrency_limit"]["limit"] == 1
    assert set(deployment["parameters"]) <= set(flow.parameters.properties) - {"session_id"}


def test_images_run_nightly_at_three_in_an_explicit_timezone(deployments):
    (schedule,) = deployments["images"]["schedules"]
    assert schedule["cron"] == "0 3 * * *"
    assert schedule["timezone"] == "Europe/Moscow"
    assert deployments["images"]["parameters"]["validate_images"] is False
