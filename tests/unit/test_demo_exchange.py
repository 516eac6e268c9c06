"""The demo exchange (devtools.demo_exchange): what the parser reads from it, its
photos and deliberately bad inputs, determinism, writing it once, and the real catalog,
prices, stocks and image imports of it."""
import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image, UnidentifiedImageError

from commerceml.layout import exchange_files
from commerceml.reader import (
    GOODS,
    GROUPS,
    OFFERS,
    PRICE_TYPES,
    WAREHOUSES,
    ExchangeDocument,
    GoodsItem,
    SkippedElement,
    read_brand_dictionary,
    split_offer_id,
)
from devtools.demo_exchange import (
    BRANDS,
    LARGE_PHOTO_COUNT,
    LARGE_PHOTO_SIZE,
    MARKER_NAME,
    MIN_PRODUCT_COUNT,
    NOT_A_NUMBER_PRICE,
    demo_exchange_ensure,
    demo_exchange_write,
)
from apps.imports.options import ImageImportOptions
from apps.imports.services.record_import import exchange_import_file
from apps.products.models import Category, Price, Product, ProductVariant, Stock
from apps.imports.services.images_import import product_images_import_chunk
from tests.conftest import media_files, rendition_files

PRODUCTS = 10
SEED = 7
SYNC_MARK = datetime(2026, 1, 1, tzinfo=timezone.utc)
REFUSED_BY_DEFAULT = {"empty-file", "not-an-image", "missing-file", "path-escape"}
# The demo's large photos are 4000x3000 noise JPEGs; the tests draw them at a size no other
# photo has (so they are still told apart) but quick to draw, decode and render.
# test_the_large_photos_are_large_and_photo_sized is the one about the full size.
SMALL_LARGE = (480, 360)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_exchange_write(
        target_dir=tmp_path_factory.mktemp("demo") / "exchange", seed=SEED, products=PRODUCTS,
        large_photo_size=SMALL_LARGE,
    )


def records(root: Path, kind: str, spec) -> list:
    return [record for path in exchange_files(root, kind) for record in ExchangeDocument(path).records(spec)]


def goods_items(root: Path) -> list[GoodsItem]:
    return [record for record in records(root, "goods", GOODS) if isinstance(record, GoodsItem)]


def bad_input(demo, kind: str):
    return next(item for item in demo.bad_inputs if item.kind == kind)


def picture_path(bad) -> str:
    """A bad input's <Картинка> text (its `where` is relative to the exchange root)."""
    return bad.where.removeprefix("goods/")


def all_files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


# --- what the parser reads ----------------------------------------------------------------------


def test_parser_reads_every_goods_with_its_pictures_group_and_brand(demo):
    items = goods_items(demo.root)
    groups = records(demo.root, "groups", GROUPS)
    brands = read_brand_dictionary(exchange_files(demo.root, "propertiesGoods"))
    leaf_ids = {group.onec_id for group in groups if group.parent_id}

    parts = [path.name.split("_")[:3] for path in exchange_files(demo.root, "goods")]
    assert parts == [["goods", "1", "1"], ["goods", "1", "2"]]
    assert len(items) == demo.products == PRODUCTS
    assert sum(len(item.picture_paths) for item in items) == demo.pictures
    top_ids = {group.onec_id for group in groups if not group.parent_id}
    assert {group.parent_id for group in groups if group.parent_id} == top_ids
    for item in items:
        assert item.group_id in leaf_ids and item.article and item.name
        assert brands.brand_of(item)[0] in BRANDS
        own = [path for path in item.picture_paths if ".." not in path]
        assert all(path.startswith(f"import_files/{item.onec_id[:2]}/{item.onec_id}_") for path in own)
    # 1C's order is meaningful and is not the file-name order, as in real exchanges
    assert any(list(item.picture_paths) != sorted(item.picture_paths) for item in items)


def test_every_good_photo_is_listed_on_disk_and_decodes(demo):
    bad_paths = {picture_path(item) for item in demo.bad_inputs}
    found = []
    for item in goods_items(demo.root):
        for path in item.picture_paths:
            if path in bad_paths:
                continue
            file = demo.root / "goods" / path
            with Image.open(file) as image:
                image.load()
                alpha_min = image.getextrema()[3][0] if image.mode == "RGBA" else 255
                found.append((image.format, image.size, alpha_min, file.suffix, file.stat().st_size))

    assert len(found) == demo.photo_files
    assert {fmt for fmt, *_ in found} == {"JPEG", "PNG"}
    assert {".JPG", ".PNG", ".jpeg"} <= {suffix for *_, suffix, _ in found}
    assert any(alpha < 255 for _, _, alpha, _, _ in found)  # a transparent PNG
    assert len({size for _, size, *_ in found}) >= 5
    large = [fmt for fmt, size, *_ in found if size == SMALL_LARGE]
    assert large == ["JPEG"] * LARGE_PHOTO_COUNT
    assert len({size_bytes for *_, size_bytes in found}) == len(found)  # noise: every photo its own size


def test_bad_inputs_are_there_as_described(demo):
    items = {item.onec_id: item for item in goods_items(demo.root)}
    for bad in demo.bad_inputs:
        if bad.kind in REFUSED_BY_DEFAULT | {"truncated-jpeg"}:
            assert items[bad.product].picture_paths[1] == picture_path(bad)  # second: the main image stays good

    assert (demo.root / bad_input(demo, "empty-file").where).stat().st_size == 0
    text_file = demo.root / bad_input(demo, "not-an-image").where
    assert "не фотография" in text_file.read_text(encoding="utf-8")
    with pytest.raises(UnidentifiedImageError):
        Image.open(text_file)
    truncated = demo.root / bad_input(demo, "truncated-jpeg").where
    assert truncated.read_bytes()[:3] == b"\xff\xd8\xff"  # passes the header check ...
    with pytest.raises(OSError, match="truncated"), Image.open(truncated) as image:
        image.load()  # ... but not decoding
    assert not (demo.root / bad_input(demo, "missing-file").where).exists()
    assert bad_input(demo, "path-escape").where == "import_files/../../../etc/passwd"

    skipped = [record for record in records(demo.root, "goods", GOODS) if isinstance(record, SkippedElement)]
    assert len(skipped) == 1 and "has no <Ид>" in str(skipped[0].reason)
    assert Path(skipped[0].path).relative_to(demo.root) == Path(bad_input(demo, "goods-without-id").where)
    bad_offer_id = bad_input(demo, "price-not-a-number").product
    (offer,) = [offer for offer in records(demo.root, "prices", OFFERS) if offer.onec_id == bad_offer_id]
    (problem,) = map(str, offer.problems)
    assert f"price {NOT_A_NUMBER_PRICE!r}" in problem and problem.endswith("is not a number; skipped")
    assert (demo.root / "README.txt").read_text(encoding="utf-8").count("reported:") == len(demo.bad_inputs) == 7


def test_offers_prices_and_rests_parse(demo):
    goods_ids = {item.onec_id for item in goods_items(demo.root)}
    price_type_ids = {record.onec_id for record in records(demo.root, "priceLists", PRICE_TYPES)}
    warehouse_ids = {record.onec_id for record in records(demo.root, "storages", WAREHOUSES)}
    offers = records(demo.root, "offers", OFFERS)
    variants = [offer for offer in offers if offer.characteristic_id]
    prices = {offer.onec_id: offer for offer in records(demo.root, "prices", OFFERS)}
    rests = {offer.onec_id: offer for offer in records(demo.root, "rests", OFFERS)}

    assert {split_offer_id(offer.onec_id)[0] for offer in offers} == goods_ids
    assert len(variants) == demo.variants > 0
    assert all(len(offer.characteristics) == 1 for offer in variants)
    assert all(offer.name.endswith(f"({offer.characteristics[0][1]})") for offer in variants)
    assert set(prices) == set(rests) == {offer.onec_id for offer in offers}
    assert len(price_type_ids) == 2 and len(warehouse_ids) == 2
    priced = [offer for offer in prices.values() if not offer.problems]
    assert all({price.price_type_id for price in offer.prices} == price_type_ids for offer in priced)
    assert all(price.value > 0 for offer in priced for price in offer.prices)
    assert len(priced) == len(prices) - 1
    assert all({stock.warehouse_id for stock in offer.stocks} == warehouse_ids for offer in rests.values())
    assert all(stock.quantity >= 0 for offer in rests.values() for stock in offer.stocks)


# --- determinism and writing it once ------------------------------------------------------------


def test_the_large_photos_are_large_and_photo_sized(tmp_path):
    """The demo as `./dev demo` writes it: its large photos at full size, megabytes each."""
    written = demo_exchange_write(target_dir=tmp_path / "exchange", seed=SEED, products=MIN_PRODUCT_COUNT)

    large = []
    for path in sorted((written.root / "goods" / "import_files").rglob("*")):
        if path.is_file() and path.stat().st_size > 0:
            try:
                with Image.open(path) as image:
                    if image.size == LARGE_PHOTO_SIZE == (4000, 3000):
                        image.load()
                        large.append((image.format, path.stat().st_size))
            except (UnidentifiedImageError, OSError):  # the deliberately bad files
                continue
    assert len(large) == LARGE_PHOTO_COUNT and {fmt for fmt, _ in large} == {"JPEG"}
    assert min(size for _, size in large) > 2_000_000
    assert written.large_photo_size == LARGE_PHOTO_SIZE
    assert "3 of them 4000x3000" in (written.root / "README.txt").read_text(encoding="utf-8")
    assert "large_photo_size" not in (written.root / MARKER_NAME).read_text()  # the demo's marker as before


def test_same_seed_writes_the_same_bytes_another_seed_other_ones(demo, tmp_path):
    again = demo_exchange_write(target_dir=tmp_path / "again", seed=SEED, products=PRODUCTS, large_photo_size=SMALL_LARGE)
    other = demo_exchange_write(target_dir=tmp_path / "other", seed=SEED + 1, products=PRODUCTS, large_photo_size=SMALL_LARGE)

    assert all_files(again.root) == all_files(demo.root)
    assert {item.onec_id for item in goods_items(other.root)}.isdisjoint(item.onec_id for item in goods_items(demo.root))


def test_ensure_writes_once_replaces_only_a_demo_and_cleans_interrupted_runs(tmp_path):
    target = tmp_path / "exchange"
    interrupted = tmp_path / ".exchange.partial-x1y2"  # what a killed run leaves
    (interrupted / "goods").mkdir(parents=True)

    small = {"large_photo_size": SMALL_LARGE}
    written = demo_exchange_ensure(target_dir=target, seed=SEED, products=MIN_PRODUCT_COUNT, **small)

    assert written.root == target and (target / "README.txt").is_file()
    assert [path.name for path in tmp_path.iterdir()] == ["exchange"]
    before = all_files(target)
    assert demo_exchange_ensure(target_dir=target, seed=SEED, products=MIN_PRODUCT_COUNT, **small) is None
    assert all_files(target) == before

    assert demo_exchange_ensure(target_dir=target, seed=SEED + 1, products=MIN_PRODUCT_COUNT, **small).root == target
    assert '"seed": 8' in (target / MARKER_NAME).read_text()
    assert [path.name for path in tmp_path.iterdir()] == ["exchange"]
    # another size of the large photos is another exchange: written again
    other_size = demo_exchange_ensure(target_dir=target, seed=SEED + 1, products=MIN_PRODUCT_COUNT, large_photo_size=(500, 375))
    assert other_size is not None and '"large_photo_size": [500, 375]' in (target / MARKER_NAME).read_text()

    real = tmp_path / "real"
    (real / "goods").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="is not a demo exchange"):
        demo_exchange_ensure(target_dir=real, seed=SEED, products=MIN_PRODUCT_COUNT)
    assert (real / "goods").is_dir()


def test_too_few_products_are_refused(tmp_path):
    with pytest.raises(ValueError, match=f"at least {MIN_PRODUCT_COUNT} products"):
        demo_exchange_write(target_dir=tmp_path / "exchange", products=MIN_PRODUCT_COUNT - 1)


# --- the real imports ---------------------------------------------------------------------------


def import_kinds(root: Path, *kinds: str) -> dict[str, list[dict]]:
    """Each kind's files through the import service, as the flows call it (no Prefect)."""
    brands = read_brand_dictionary(exchange_files(root, "propertiesGoods")).as_dict()
    return {
        kind: [
            exchange_import_file(
                kind=kind, path=path, sync_mark=SYNC_MARK, context={"brands": brands} if kind == "goods" else None
            )
            for path in exchange_files(root, kind)
        ]
        for kind in kinds
    }


def error_reasons(results: list[dict]) -> list[str]:
    return [error["reason"] for result in results for error in result["error_details"]]


def import_images(demo, **options):
    return product_images_import_chunk(
        product_ids=list(Product.objects.values_list("pk", flat=True)),
        images_dir=demo.root / "goods" / "import_files",
        options=ImageImportOptions(**options),
    )


@pytest.mark.django_db
def test_catalog_and_image_import_of_the_demo(demo, media_root):
    catalog = import_kinds(demo.root, "groups", "goods", "offers")
    chunk = import_images(demo)

    (goods_error,) = error_reasons(catalog["goods"])
    assert "has no <Ид>" in goods_error
    assert Product.objects.count() == demo.products
    assert ProductVariant.objects.count() == demo.variants
    assert not Product.objects.filter(category__parent__isnull=True).exists()  # every goods in a subgroup
    assert Category.objects.filter(parent__isnull=True).count() == 4
    assert set(Product.objects.values_list("brand", flat=True)) <= set(BRANDS)

    assert chunk.copied == demo.photo_files + 1  # the truncated JPEG passes the default header check
    refused = {error.file: error.reason for error in chunk.error_details}
    by_kind = {bad.kind: picture_path(bad) for bad in demo.bad_inputs if bad.kind in REFUSED_BY_DEFAULT}
    truncated = picture_path(bad_input(demo, "truncated-jpeg"))
    assert set(refused) == {*by_kind.values(), truncated}
    assert "the file is empty (0 bytes)" in refused[by_kind["empty-file"]]
    assert "not a JPEG or PNG image" in refused[by_kind["not-an-image"]]
    assert "missing on disk" in refused[by_kind["missing-file"]]
    assert refused[by_kind["path-escape"]].startswith("security:")
    # ... but no renditions can be made of it: shown, reported, the others rendered.
    assert "the image data is damaged" in refused[truncated] and chunk.rendition_errors == 1
    assert len(media_files(media_root)) == chunk.copied
    assert chunk.renditions_created == len(rendition_files(media_root)) > 0

    for item in goods_items(demo.root):  # 1C's order: the first picture is the main image, the others follow
        product = Product.objects.get(onec_id=item.onec_id)
        shown = [f"products/{path.removeprefix('import_files/')}" for path in item.picture_paths
                 if path not in by_kind.values()]
        assert [product.main_image.name, *product.gallery_images] == shown


@pytest.mark.django_db
def test_validating_images_refuses_the_truncated_jpeg_too(demo, media_root):
    import_kinds(demo.root, "groups", "goods")

    chunk = import_images(demo, validate_images=True)

    refused = {error.file: error.reason for error in chunk.error_details}
    assert "the image data is damaged" in refused[picture_path(bad_input(demo, "truncated-jpeg"))]
    assert len(refused) == len(REFUSED_BY_DEFAULT) + 1
    assert chunk.copied == demo.photo_files


@pytest.mark.django_db
def test_prices_and_stocks_import_of_the_demo(demo):
    import_kinds(demo.root, "groups", "goods", "offers")

    results = import_kinds(demo.root, "priceLists", "prices", "storages", "rests")

    offers = len(records(demo.root, "offers", OFFERS))
    (price_error,) = error_reasons(results["prices"])
    assert NOT_A_NUMBER_PRICE in price_error and bad_input(demo, "price-not-a-number").product in price_error
    assert error_reasons(results["rests"]) == []
    assert Price.objects.count() == 2 * offers - 1
    assert Stock.objects.count() == 2 * offers
    assert Price.objects.filter(variant__isnull=False).exists() and Stock.objects.filter(quantity__gt=0).exists()


@pytest.mark.django_db
def test_the_demo_guide_says_where_to_look_in_the_sites_language(settings, tmp_path):
    """`./dev demo` ends with the guide: the admin's pages, the photos and the storefront's
    endpoint of a product that has a photo, in the site's language."""
    from django.core.management import call_command
    from django.utils import translation

    settings.MEDIA_ROOT = str(tmp_path / "media")
    Product.objects.create(onec_id="no-photo")
    Product.objects.create(onec_id="with-photo", main_image="products/wi/with-photo_1.jpg")
    printed = {}
    for language in ("ru", "en"):
        out = io.StringIO()
        with translation.override(language):
            call_command("onec_demo_guide", "--exchange-dir", "var/demo/exchange", stdout=out)
        printed[language] = out.getvalue()

    assert "Демонстрационные данные в базе. Где их посмотреть:" in printed["ru"]
    assert "адрес для витрины: http://127.0.0.1:8000/api/products/with-photo/images/" in printed["ru"]
    assert f"импортированные фотографии: {tmp_path}/media/products/" in printed["ru"]
    assert "The demo is in the database. To look at it:" in printed["en"]
    assert "the bad inputs on purpose, and where: var/demo/exchange/README.txt" in printed["en"]
