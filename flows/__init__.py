"""The Prefect flows of the 1C import.

Importing this package sets Django up, once, for whoever imports a flow: the CLI, a
Prefect worker loading a deployment's entrypoint (`flows.images:import_images`),
`prefect deploy`, the tests. Flow modules therefore import models and services at the
top like any Django code. DJANGO_SETTINGS_MODULE may name other settings; it defaults to
the project's. Prefect's telemetry is turned off here too, before a flow module imports Prefect.
"""
import os

import django
from django.apps import apps

from apps.imports.prefect_api import prefect_telemetry_off

prefect_telemetry_off()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not apps.ready:
    django.setup()
