"""ImageImportOptions: built once from the import page or the command line, passed on as
the image flows' JSON parameter."""
from apps.imports.forms import ImportStartForm
from apps.imports.options import ImageImportOptions


def test_the_page_and_the_command_line_build_the_same_options():
    form = ImportStartForm({"import_type": "images", "validate_images": "on", "mirror": "on", "shards": "3"})
    assert form.is_valid(), form.errors
    cli = {"validate_images": True, "dry_run": False, "mirror": True, "verify_storage": False,
           "rebuild_renditions": False, "shards": 3, "chunk_size": None, "json": True, "data_dir": None}

    assert ImageImportOptions.from_form(form.cleaned_data) == ImageImportOptions.from_cli(cli) == ImageImportOptions(
        validate_images=True, mirror=True, shards=3
    )


def test_flags_not_given_keep_the_defaults_and_the_chunk_size_comes_from_the_setting(settings):
    settings.ONEC_IMAGE_CHUNK_SIZE = 250
    options = ImageImportOptions.from_cli({"shards": None, "chunk_size": None, "dry_run": True})

    assert options.as_parameters() == {
        "validate_images": False, "dry_run": True, "mirror": False, "verify_storage": False,
        "rebuild_renditions": False, "shards": 1, "chunk_size": None,
    }
    assert options.with_chunk_size(products=10_000).chunk_size == 250
    assert ImageImportOptions(chunk_size=10).with_chunk_size(products=10_000).chunk_size == 10


def test_a_large_catalog_gets_larger_chunks_not_more_of_them(settings):
    """At most 50 chunks (each a Prefect task run), growing to 2,000 products a chunk."""
    settings.ONEC_IMAGE_CHUNK_SIZE = 100
    sizes = {products: ImageImportOptions().with_chunk_size(products=products).chunk_size
             for products in (1, 5_000, 5_001, 10_000, 100_000, 100_001, 250_000, 1_000_000)}

    assert sizes == {1: 100, 5_000: 100, 5_001: 101, 10_000: 200, 100_000: 2000, 100_001: 2000, 250_000: 2000,
                     1_000_000: 2000}
    assert ImageImportOptions(chunk_size=50).with_chunk_size(products=100_000).chunk_size == 50
