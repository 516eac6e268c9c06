"""A demo 1C exchange, so the imports can be tried with nothing but the clone.

`demo_exchange_write` writes a CommerceML 3.1 exchange laid out like a real 1C export
(../shared/onec-sample): groups, a brand dictionary, goods with ordered photos drawn with
Pillow, variants, price types, prices, warehouses and stock, plus a handful of deliberately
bad inputs so the per-file and per-record error reports have something to show. Everything
follows from the seed: the same seed writes the same bytes.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext_noop
from PIL import Image, ImageDraw, ImageFont, ImageOps

from apps.i18n.messages import Message

from commerceml.layout import GOODS_DIRNAME, part_file_name, picture_path
from commerceml.writer import (
    CommerceMLWriter,
    Goods,
    Group,
    Offer,
    Price,
    PriceType,
    Property,
    Warehouse,
    write_file,
)

# Bump when the generated exchange changes, so `demo_exchange_ensure` writes it again.
DEMO_GENERATOR_VERSION = 1
DEFAULT_PRODUCT_COUNT = 48
MARKER_NAME = ".demo-exchange.json"
# The bad photos go to the products after the first, so at least this many are needed.
MIN_PRODUCT_COUNT = 7

EXCHANGE_DATE = "2025-09-12T21:25:39"
CATALOG_NAME = "Товары 1С"
_VERSION = "AAAAAAAAAAE="  # the <НомерВерсии> 1C puts on each record

# Two levels of groups; each leaf: article prefix, goods names, the characteristic its variants differ in.
GROUP_TREE = (
    ("Фитнес", (
        ("Гантели и диски", "DB", ("Гантель неопреновая", "Гантель виниловая", "Диск обрезиненный"),
         "Вес", ("1 кг", "2 кг", "3 кг", "5 кг")),
        ("Коврики и степы", "MT", ("Коврик для йоги", "Коврик гимнастический", "Степ-платформа"),
         "Толщина", ("4 мм", "6 мм", "8 мм")),
        ("Эспандеры и скакалки", "EX", ("Эспандер ленточный", "Эспандер кистевой", "Скакалка скоростная"),
         "Нагрузка", ("лёгкая", "средняя", "сильная")),
    )),
    ("Игровые виды спорта", (
        ("Мячи", "BL", ("Мяч футбольный", "Мяч волейбольный", "Мяч баскетбольный"), "Размер", ("3", "4", "5", "7")),
        ("Сетки и ворота", "NT", ("Сетка волейбольная", "Ворота футбольные складные", "Сетка баскетбольная"),
         "Размер", ("малый", "средний", "большой")),
    )),
    ("Плавание", (
        ("Очки и шапочки", "SW", ("Очки для плавания", "Шапочка силиконовая", "Беруши для плавания"),
         "Размер", ("детский", "взрослый")),
        ("Надувные круги и нарукавники", "IN", ("Круг надувной", "Нарукавники надувные", "Жилет для плавания"),
         "Возраст", ("3-6 лет", "6-9 лет", "9-12 лет")),
    )),
    ("Туризм", (
        ("Палатки", "TN", ("Палатка туристическая", "Тент кемпинговый", "Палатка пляжная"),
         "Вместимость", ("2 места", "3 места", "4 места")),
        ("Рюкзаки", "BP", ("Рюкзак туристический", "Рюкзак городской", "Гермомешок"),
         "Объём", ("20 л", "30 л", "45 л", "60 л")),
    )),
)
BRANDS = ("Атлант", "Бриз", "Вершина", "Импульс", "Кедр", "Северный ветер")
COLORS = ("чёрный", "синий", "красный", "зелёный", "жёлтый", "серый", "оранжевый")
MATERIALS = ("неопрен", "ПВХ", "полиэстер", "нейлон", "силикон", "резина", "сталь")
COUNTRIES = ("КИТАЙ", "РОССИЯ", "ВЬЕТНАМ", "ТАЙВАНЬ")
PRICE_TYPES = (("Розничная", 1.0), ("Опт", 0.8))
WAREHOUSES = ("1 Основной склад", "2 Склад Тверь")

PHOTO_SIZES = ((400, 300), (640, 480), (800, 600), (1024, 768), (1200, 900), (1600, 1200), (600, 800), (1000, 1000))
PNG_SIZES = PHOTO_SIZES[:4]  # PNG cut-outs stay small: zlib on a large noisy image is slow and unrealistic
LARGE_PHOTO_SIZE = (4000, 3000)
LARGE_PHOTO_COUNT = 3
# photos per product: 1..8, most of them 2-4
PHOTO_COUNT_WEIGHTS = (3, 5, 5, 4, 2, 1, 1, 1)
# (extension, transparent, how many) in every 20 photos, shuffled: mostly JPEG, some PNG, a few
# upper-case extensions (1C keeps the name the user uploaded); every 20 photos show them all.
PHOTO_FORMATS = (
    ("jpg", False, 13), ("JPG", False, 1), ("jpeg", False, 2), ("png", False, 2), ("png", True, 1), ("PNG", True, 1),
)
NOT_A_NUMBER_PRICE = "по запросу"


@dataclass(frozen=True)
class DemoBadInput:
    """A deliberately bad input: what it is, where (relative to the exchange root, or the
    <Картинка> text), the goods or offer it belongs to, and which import reports it how."""

    kind: str
    what: str
    where: str
    product: str
    reported_by: str


@dataclass(frozen=True)
class DemoExchangeSummary:
    """What was written; `photo_files` counts real image files (bad ones not included)."""

    root: Path
    seed: int
    products: int
    variants: int
    pictures: int
    photo_files: int
    photo_bytes: int
    bad_inputs: tuple[DemoBadInput, ...]
    large_photo_size: tuple[int, int] = LARGE_PHOTO_SIZE


@dataclass(frozen=True)
class _Photo:
    """One <Картинка> and the file behind it, relative to the exchange root (None:
    deliberately not on disk); `is_bad` for the deliberately bad ones."""

    picture_path: str
    file: Path | None
    data: bytes
    is_bad: bool = False


@dataclass(frozen=True)
class _Goods:
    guid: str
    name: str
    article: str
    group_id: str
    brand_value_id: str
    material: str
    country: str
    description: str
    characteristic: str
    variants: tuple[tuple[str, str], ...]  # (characteristic GUID, value)
    retail_price: int
    photos: list[_Photo]


def demo_exchange_write(
    *, target_dir: Path, seed: int = 1, products: int = DEFAULT_PRODUCT_COUNT,
    large_photo_size: tuple[int, int] = LARGE_PHOTO_SIZE,
) -> DemoExchangeSummary:
    """Write the demo exchange into `target_dir` (created; must not hold an exchange yet).

    `large_photo_size`: the size of the LARGE_PHOTO_COUNT large photos (tests that are not
    about large photos make them small; everything else is the same)."""
    if products < MIN_PRODUCT_COUNT:
        raise ValueError(Message(
            gettext_noop("the demo exchange needs at least %(min)s products (got %(products)s)"),
            min=MIN_PRODUCT_COUNT, products=products,
        ))
    rng = random.Random(f"demo-exchange:{seed}")
    catalog_id = _guid(rng)
    groups = _groups(rng)
    brand_property_id, material_property_id = _guid(rng), _guid(rng)
    brand_ids = {name: _guid(rng) for name in BRANDS}
    price_type_ids = [_guid(rng) for _ in PRICE_TYPES]
    warehouse_ids = [_guid(rng) for _ in WAREHOUSES]
    leaves = [(leaf_id, leaf) for _, _, subgroups in groups for leaf_id, leaf in subgroups]
    large_indexes = {round(k * products / LARGE_PHOTO_COUNT) for k in range(LARGE_PHOTO_COUNT)}
    formats = _photo_formats(rng)
    goods = [
        _make_goods(rng, index=index, leaf=leaves[index % len(leaves)], brand_ids=brand_ids,
                    large=large_photo_size if index in large_indexes else None, formats=formats)
        for index in range(products)
    ]
    bad_inputs = _add_bad_photos(rng, goods)
    nameless = _make_goods(rng, index=products, leaf=leaves[2], brand_ids=brand_ids, large=None, formats=None)
    bad_price_offer = _offer_ids(goods[-1])[0]
    bad_inputs += [
        DemoBadInput(
            kind="goods-without-id", what=f"a <Товар> without <Ид> ({nameless.name})",
            where=_part_name("goods", catalog_id, 2), product="",
            reported_by="catalog: 'goods #N (...) has no <Ид>; skipped'",
        ),
        DemoBadInput(
            kind="price-not-a-number",
            what=f"a price that is not a number ({NOT_A_NUMBER_PRICE!r}, price type {PRICE_TYPES[1][0]})",
            where=_part_name("prices", catalog_id), product=bad_price_offer,
            reported_by="prices: 'price ... is not a number; skipped'",
        ),
    ]

    root = Path(target_dir)
    for item in goods:
        for photo in item.photos:
            if photo.file is not None:
                (root / photo.file).parent.mkdir(parents=True, exist_ok=True)
                (root / photo.file).write_bytes(photo.data)
    # Tab-indented like the sample, a BOM on every file but goods, everything "only changes".
    writer = CommerceMLWriter(catalog_id=catalog_id, catalog_name=CATALOG_NAME, created=EXCHANGE_DATE,
                              exchange_id="Обмен с сайтом", indent=True)

    def save(kind: str, data: bytes, part: int = 1) -> None:
        write_file(root, _part_name(kind, catalog_id, part), data)

    save("groups", writer.groups(_groups_records(groups), only_changes=True, bom=True))
    save("propertiesGoods", writer.properties(
        _properties_records(brand_property_id, brand_ids, material_property_id), only_changes=True, bom=True,
    ))
    records = [_goods_record(item, brand_property_id, material_property_id) for item in goods]
    # second in the second part: the goods 1C sent without <Ид>
    without_id = dataclasses.replace(_goods_record(nameless, brand_property_id, material_property_id), onec_id="")
    half = (len(goods) + 1) // 2
    save("goods", writer.goods(records[:half], only_changes=True), 1)
    save("goods", writer.goods([records[half], without_id, *records[half + 1:]], only_changes=True), 2)
    offers = list(_offers(goods))
    save("offers", writer.offers([_offer_record(*offer) for offer in offers], only_changes=True, bom=True))
    save("priceLists", writer.price_types(
        [PriceType(type_id, name, vat=True, version=_VERSION) for type_id, (name, _) in zip(price_type_ids, PRICE_TYPES)],
        only_changes=True, bom=True,
    ))
    save("prices", writer.offers(
        [_prices_record(*offer, price_type_ids, bad_offer=bad_price_offer) for offer in offers], only_changes=True, bom=True,
    ))
    save("storages", writer.warehouses(
        [Warehouse(warehouse_id, name, version=_VERSION) for warehouse_id, name in zip(warehouse_ids, WAREHOUSES)],
        only_changes=True, bom=True,
    ))
    rests_rng = random.Random(f"demo-rests:{seed}")
    save("rests", writer.offers(
        [_rests_record(offer_id, warehouse_ids, rests_rng) for offer_id, _, _ in offers], only_changes=True, bom=True,
    ))

    real_photos = [photo for item in goods for photo in item.photos if not photo.is_bad]
    summary = DemoExchangeSummary(
        root=root,
        seed=seed,
        products=len(goods),
        variants=sum(len(item.variants) for item in goods),
        pictures=sum(len(item.photos) for item in goods),
        photo_files=len(real_photos),
        photo_bytes=sum(len(photo.data) for photo in real_photos),
        bad_inputs=tuple(bad_inputs),
        large_photo_size=tuple(large_photo_size),
    )
    (root / "README.txt").write_text(_readme(summary), encoding="utf-8")
    marker = _marker(seed=seed, products=products, large_photo_size=large_photo_size)
    (root / MARKER_NAME).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    return summary


def demo_exchange_ensure(
    *, target_dir: Path, seed: int = 1, products: int = DEFAULT_PRODUCT_COUNT,
    large_photo_size: tuple[int, int] = LARGE_PHOTO_SIZE,
) -> DemoExchangeSummary | None:
    """Write the demo exchange at `target_dir` unless this generator version already wrote
    it there with the same seed and size (then None: nothing to do).

    It is written into a sibling directory and renamed into place, so an interrupted run
    never leaves half an exchange at `target_dir`. A directory that is not a demo exchange
    is never replaced: it may be a real one.
    """
    target_dir = Path(target_dir)
    marker = target_dir / MARKER_NAME
    if target_dir.exists():
        if not marker.is_file():
            raise FileExistsError(Message(
                gettext_noop("%(path)s exists and is not a demo exchange (no %(marker)s); choose another directory or remove it"),
                path=str(target_dir), marker=MARKER_NAME,
            ))
        if json.loads(marker.read_text(encoding="utf-8")) == _marker(
            seed=seed, products=products, large_photo_size=large_photo_size
        ):
            return None
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target_dir.parent.glob(f".{target_dir.name}.*-*"):  # of an interrupted run
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.partial-", dir=target_dir.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the exchange from a worker running as another user
    try:
        summary = demo_exchange_write(
            target_dir=staging, seed=seed, products=products, large_photo_size=large_photo_size
        )
        if target_dir.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.old-", dir=target_dir.parent))
            os.replace(target_dir, previous / target_dir.name)
            os.replace(staging, target_dir)
            shutil.rmtree(previous)
        else:
            os.replace(staging, target_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dataclasses.replace(summary, root=target_dir)


def _marker(*, seed: int, products: int, large_photo_size: tuple[int, int] = LARGE_PHOTO_SIZE) -> dict:
    marker = {"generator_version": DEMO_GENERATOR_VERSION, "seed": seed, "products": products}
    if tuple(large_photo_size) != LARGE_PHOTO_SIZE:  # the demo's own markers stay as they were
        marker["large_photo_size"] = list(large_photo_size)
    return marker


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _groups(rng: random.Random) -> list[tuple[str, str, list[tuple[str, tuple]]]]:
    """(id, name, [(leaf id, leaf spec)]) per top-level group."""
    return [(_guid(rng), name, [(_guid(rng), leaf) for leaf in leaves]) for name, leaves in GROUP_TREE]


def _photo_formats(rng: random.Random) -> Iterator[tuple[str, bool]]:
    """(extension, transparent) for each next photo, following PHOTO_FORMATS."""
    block = [(ext, transparent) for ext, transparent, count in PHOTO_FORMATS for _ in range(count)]
    while True:
        yield from rng.sample(block, len(block))


def _make_goods(
    rng: random.Random, *, index: int, leaf: tuple[str, tuple], brand_ids: dict[str, str],
    large: tuple[int, int] | None, formats: Iterator[tuple[str, bool]] | None,
) -> _Goods:
    """One goods; every third has variants; `formats` None: a goods without photos; `large`:
    the size of its large first photo (None: no large photo)."""
    leaf_id, (_, prefix, names, characteristic, values) = leaf
    guid = _guid(rng)
    base, brand, color, material = rng.choice(names), rng.choice(BRANDS), rng.choice(COLORS), rng.choice(MATERIALS)
    article = f"{prefix}-{1001 + index}"
    variant_count = rng.choice((2, len(values))) if index % 3 == 1 else 0
    return _Goods(
        guid=guid,
        name=f"{base} {brand} {article}, {color}",
        article=article,
        group_id=leaf_id,
        brand_value_id=brand_ids[brand],
        material=material,
        country=rng.choice(COUNTRIES),
        description=f"{base} бренда {brand.upper()}. Материал: {material}. Демонстрационный товар для проверки обмена с 1С.",
        characteristic=characteristic,
        variants=tuple((_guid(rng), value) for value in values[:variant_count]),
        retail_price=rng.randrange(490, 20000, 10),
        photos=_make_photos(rng, guid=guid, article=article, large=large, formats=formats) if formats else [],
    )


def _make_photos(
    rng: random.Random, *, guid: str, article: str, large: tuple[int, int] | None, formats: Iterator[tuple[str, bool]]
) -> list[_Photo]:
    count = rng.choices(range(1, len(PHOTO_COUNT_WEIGHTS) + 1), weights=PHOTO_COUNT_WEIGHTS)[0]
    photos = []
    for number in range(1, count + 1):
        ext, transparent = next(formats)
        if large and number == 1:
            ext, transparent, size, noise = "jpg", False, tuple(large), 0.22
        elif ext.lower() == "png":  # flat renders and cut-outs: small, and quick for zlib
            size, noise = rng.choice(PNG_SIZES), 0.0
        else:
            size, noise = rng.choice(PHOTO_SIZES), rng.uniform(0.0, 0.2)
        image = _draw_photo(rng, size=size, label=f"{article}  {number}/{count}", noise=noise, transparent=transparent)
        photos.append(_photo_file(guid, _guid(rng), ext, _encode(image, ext)))
    return photos


def _photo_file(guid: str, file_guid: str, ext: str, data: bytes | None, *, is_bad: bool = False) -> _Photo:
    """1C's layout: goods/import_files/XX/<goodsGUID>_<fileGUID>.<ext>, XX = the GUID's
    first two characters; `data` None: listed but not on disk."""
    path = picture_path(guid, file_guid, ext)
    file = Path(GOODS_DIRNAME) / path if data is not None else None
    return _Photo(picture_path=path, file=file, data=data or b"", is_bad=is_bad)


def _draw_photo(rng: random.Random, *, size: tuple[int, int], label: str, noise: float, transparent: bool) -> Image.Image:
    """A product-like picture: a gradient backdrop (none for a transparent cut-out), a
    shape with its shadow, the article, and some noise so JPEG sizes vary like photos'."""
    width, height = size
    colors = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(4)]
    if transparent:
        image = Image.new("RGBA", size, (0, 0, 0, 0))
    else:
        gradient = Image.linear_gradient("L").rotate(rng.choice((0, 45, 90, 135, 180))).resize(size)
        image = ImageOps.colorize(gradient, colors[0], colors[1])
    draw = ImageDraw.Draw(image)
    left, top = width * rng.uniform(0.15, 0.3), height * rng.uniform(0.15, 0.3)
    right, bottom = width - left * rng.uniform(0.8, 1.2), height - top * rng.uniform(0.8, 1.2)
    shadow = (40, 40, 40, 160) if transparent else (40, 40, 40)
    draw.ellipse((left, bottom - height * 0.04, right, bottom + height * 0.04), fill=shadow)
    style = {"fill": colors[2], "outline": colors[3], "width": max(2, width // 200)}
    shape = rng.randrange(3)
    if shape == 0:
        draw.ellipse((left, top, right, bottom), **style)
    elif shape == 1:
        draw.rounded_rectangle((left, top, right, bottom), radius=width // 20, **style)
    else:
        draw.polygon(((left, bottom), ((left + right) / 2, top), (right, bottom)), **style)
    draw.text((width * 0.04, height * 0.04), label, fill=colors[3], font=ImageFont.load_default(size=max(12, height // 18)))
    if noise and not transparent:
        # half-resolution noise: photo-like JPEG sizes for a quarter of the random bytes
        noise_size = (max(1, width // 2), max(1, height // 2))
        grain = Image.frombytes("L", noise_size, rng.randbytes(noise_size[0] * noise_size[1])).resize(size, Image.NEAREST)
        image = Image.blend(image, Image.merge("RGB", (grain, grain, grain)), noise)
    return image


def _encode(image: Image.Image, ext: str) -> bytes:
    buffer = io.BytesIO()
    if ext.lower() == "png":
        image.save(buffer, "PNG", compress_level=6)
    else:
        image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def _add_bad_photos(rng: random.Random, goods: list[_Goods]) -> list[DemoBadInput]:
    """One bad picture each for products 2..6, listed second, so each keeps a good main image."""
    truncated_source = _encode(_draw_photo(rng, size=(800, 600), label="truncated", noise=0.1, transparent=False), "jpg")
    bad = [
        ("empty-file", "an empty photo file (0 bytes)", b"", "images: 'the file is empty (0 bytes)'"),
        ("not-an-image", "a .jpg file that holds text, not an image",
         "Это не фотография: вместо изображения 1С выгрузила текст.\n".encode(),
         "images: 'not a JPEG or PNG image (unexpected file content)'"),
        ("truncated-jpeg", "a truncated JPEG (its first 40%)", truncated_source[: len(truncated_source) * 2 // 5],
         "images: 'the image data is damaged' (by default copied and shown, but no renditions can be made of "
         "it; with --validate-images not copied)"),
        ("missing-file", "a <Картинка> whose file is not on disk", None, "images: 'listed by 1C but missing on disk'"),
    ]
    inputs = []
    for item, (kind, what, data, reported_by) in zip(goods[1:], bad):
        photo = _photo_file(item.guid, _guid(rng), "jpg", data, is_bad=True)
        item.photos.insert(1, photo)
        inputs.append(DemoBadInput(
            kind=kind, what=what, where=f"goods/{photo.picture_path}", product=item.guid, reported_by=reported_by,
        ))
    escaping = _Photo(picture_path="import_files/../../../etc/passwd", file=None, data=b"", is_bad=True)
    goods[len(bad) + 1].photos.insert(1, escaping)
    inputs.append(DemoBadInput(
        kind="path-escape", what="a <Картинка> path leaving goods/import_files", where=escaping.picture_path,
        product=goods[len(bad) + 1].guid, reported_by="images: 'security: ... leaves goods/import_files; it was not read'",
    ))
    return inputs


def _offer_ids(item: _Goods) -> list[str]:
    return [f"{item.guid}#{characteristic_id}" for characteristic_id, _ in item.variants] or [item.guid]


def _part_name(kind: str, catalog_id: str, part: int = 1) -> str:
    """Each part's uuid follows from the catalog's, so the same seed writes the same names."""
    return part_file_name(kind, part, str(uuid.uuid5(uuid.UUID(catalog_id), f"{kind}-{part}")))


def _groups_records(groups: list) -> list[Group]:
    return [
        Group(group_id, name, tuple(Group(leaf_id, leaf[0], version=_VERSION) for leaf_id, leaf in leaves),
              version=_VERSION)
        for group_id, name, leaves in groups
    ]


def _properties_records(brand_property_id: str, brand_ids: dict[str, str], material_property_id: str) -> list[Property]:
    """The brand as a dictionary property (goods send the value's id), and a plain text one."""
    return [
        Property(brand_property_id, "Бренд", value_type="Справочник",
                 values={value_id: name for name, value_id in brand_ids.items()}, version=_VERSION),
        Property(material_property_id, "Материал", value_type="Строка", version=_VERSION),
    ]


def _goods_record(item: _Goods, brand_property_id: str, material_property_id: str) -> Goods:
    return Goods(
        item.guid, item.name, article=item.article, group=item.group_id, description=item.description,
        pictures=[photo.picture_path for photo in item.photos], country=item.country,
        properties={brand_property_id: item.brand_value_id, material_property_id: item.material}, version=_VERSION,
    )


def _offers(goods: list[_Goods]) -> Iterator[tuple[str, _Goods, str]]:
    """(offer id, goods, variant value) per offer: the goods' own id, or
    `goodsGUID#characteristicGUID` per variant."""
    for item in goods:
        values = [value for _, value in item.variants] or [""]
        for offer_id, value in zip(_offer_ids(item), values):
            yield offer_id, item, value


def _offer_record(offer_id: str, item: _Goods, value: str) -> Offer:
    return Offer(
        offer_id, f"{item.name} ({value})" if value else item.name, article=item.article,
        characteristics={item.characteristic: value} if value else {}, version=_VERSION,
    )


def _prices_record(offer_id: str, item: _Goods, value: str, price_type_ids: list[str], *, bad_offer: str) -> Offer:
    """Each offer priced in every price type; a variant later in its list costs a little more."""
    step = [variant_value for _, variant_value in item.variants].index(value) if value else 0
    prices = []
    for type_id, (_, ratio) in zip(price_type_ids, PRICE_TYPES):
        amount = round((item.retail_price + 100 * step) * ratio)
        text = NOT_A_NUMBER_PRICE if offer_id == bad_offer and ratio != 1.0 else str(amount)
        prices.append(Price(type_id, text, "руб", presentation=f"{amount:,} руб".replace(",", " "), vat=True))
    return Offer(offer_id, prices=prices, deleted=None)


def _rests_record(offer_id: str, warehouse_ids: list[str], rng: random.Random) -> Offer:
    stocks = {
        warehouse_id: str(rng.choice((0, 0, rng.randrange(1, 20), rng.randrange(20, 300)))) for warehouse_id in warehouse_ids
    }
    return Offer(offer_id, stocks=stocks, deleted=None)


def _readme(summary: DemoExchangeSummary) -> str:
    bad = "\n".join(
        f"- {item.what}\n    where:    {item.where}\n"
        + (f"    product:  {item.product}\n" if item.product else "")
        + f"    reported: {item.reported_by}"
        for item in summary.bad_inputs
    )
    return (
        "GENERATED DEMO DATA - not a real 1C export.\n\n"
        f"Written by devtools/demo_exchange.py (generator version {DEMO_GENERATOR_VERSION}, "
        f"seed {summary.seed}) in the layout of a 1C:Enterprise CommerceML 3.1 exchange: groups/, propertiesGoods/ "
        "(the brand dictionary), goods/ (two parts) with goods/import_files/XX/<goodsGUID>_<fileGUID>.<ext>, "
        "offers/, priceLists/, prices/, storages/, rests/.\n\n"
        f"{summary.products} products, {summary.variants} variants, {summary.pictures} <Картинка> entries, "
        f"{summary.photo_files} photos ({summary.photo_bytes / 1e6:.1f} MB): JPEG and PNG (some transparent, some with "
        f"upper-case extensions), {LARGE_PHOTO_COUNT} of them {summary.large_photo_size[0]}x{summary.large_photo_size[1]}.\n\n"
        "Deliberately bad inputs (each a per-file or per-record error; the rest imports):\n"
        f"{bad}\n"
    )
