"""Import type -> flow, for the CLI, the admin page and prefect.yaml (one deployment each)."""
from flows.catalog import import_catalog
from flows.customers import import_customers
from flows.images import import_images
from flows.prices import import_prices
from flows.stocks import import_stocks

FLOWS_BY_IMPORT_TYPE = {
    "catalog": import_catalog,
    "stocks": import_stocks,
    "prices": import_prices,
    "customers": import_customers,
    "images": import_images,
}


def deployment_name(import_type: str) -> str:
    """The prefect.yaml deployment of an import type: `<flow name>/<import type>`."""
    return f"{FLOWS_BY_IMPORT_TYPE[import_type].name}/{import_type}"
