"""prefect.yaml declares exactly one deployment per import type, as the type's spec says."""
from pathlib import Path

import pytest
import yaml

from apps.imports.import_types import IMPORT_TYPES, import_type_spec

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


@pytest.fixture(scope="module")
def deployments() -> dict[str, dict]:
    config = yaml.safe_load(PREFECT_YAML.read_text())
    return {deployment["name"]: deployment for deployment in config["deployments"]}


def test_every_import_type_has_a_deployment_and_nothing_else(deployments):
    assert set(deployments) - {"images-shard", "onec-exchange", "alerts", "site-photo"} == {spec.key for spec in IMPORT_TYPES}, (
        "prefect.yaml needs one deployment per import type of apps/integrations/import_types.py, named after the type"
    )


def test_image_shards_run_side_by_side_on_their_own_pool(deployments):
    from flows.images import import_images_shard
    from flows.shards import SHARD_DEPLOYMENT, SHARD_POOL

    shard = deployments["images-shard"]
    assert f"{import_images_shard.name}/images-shard" == SHARD_DEPLOYMENT
    assert shard["entrypoint"] == "flows.images:import_images_shard"
    assert shard["work_pool"]["name"] == SHARD_POOL and "concurrency_limit" not in shard


def test_site_photos_are_processed_by_the_deployment_the_upload_asks_for(deployments):
    from apps.imports.services.site_photos import SITE_PHOTO_DEPLOYMENT
    from flows.site_photos import process_site_photo

    deployment = deployments["site-photo"]
    assert deployment["entrypoint"] == "flows.site_photos:process_site_photo"
    assert f"{process_site_photo.name}/site-photo" == SITE_PHOTO_DEPLOYMENT
    assert deployment["work_pool"]["name"] == "onec-imports"


@pytest.mark.parametrize("import_type", [spec.key for spec in IMPORT_TYPES])
def test_deployment_runs_the_specified_flow_one_at_a_time_on_the_process_pool(deployments, import_type):
    spec = import_type_spec(import_type)
    deployment = deployments[import_type]
    flow = spec.load_flow()

    assert deployment["entrypoint"] == spec.flow
    assert flow.name == spec.flow_name and spec.deployment_name == f"{flow.name}/{import_type}"
    assert deployment["work_pool"]["name"] == "onec-imports"
    assert deployment["concurrency_limit"]["limit"] == 1
    assert set(deployment["parameters"]) <= set(flow.parameters.properties) - {"session_id"}
    flow.validate_parameters(deployment["parameters"])  # what the schedule passes, Prefect takes
    assert ("options" in flow.parameters.properties) == (spec.options is not None)


def test_images_run_nightly_at_three_in_an_explicit_timezone(deployments):
    (schedule,) = deployments["images"]["schedules"]
    assert schedule["cron"] == "0 3 * * *"
    assert schedule["timezone"] == "Europe/Moscow"
    assert deployments["images"]["parameters"]["options"]["validate_images"] is False


def test_the_alert_check_runs_every_quarter_hour_and_watches_the_nightly_import(deployments):
    from flows.alerts import check_import_alerts

    check = deployments["alerts"]
    assert check["entrypoint"] == "flows.alerts:check_import_alerts"
    (schedule,) = check["schedules"]
    assert schedule["cron"] == "*/15 * * * *"
    assert check["parameters"] == {"nightly_import_type": "images"} and "schedules" in deployments["images"]
    check_import_alerts.validate_parameters(check["parameters"])
