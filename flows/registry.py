"""Import type -> flow, for the CLI and the admin."""
from flows.catalog import import_catalog
from flows.images import import_images

FLOWS_BY_IMPORT_TYPE = {
    "catalog": import_catalog,
    "images": import_images,
}
