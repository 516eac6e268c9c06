"""What each 1C import type is, as the admin page describes it to a person."""
from __future__ import annotations

from dataclasses import dataclass

from .models import ImportSession
from .services.import_kinds import IMPORT_PLANS

ImportType = ImportSession.ImportType


@dataclass(frozen=True)
class ImportTypeInfo:
    import_type: str
    label: str
    description: str
    files: str
    requires_catalog: bool  # products must exist; the exchange types take it from IMPORT_PLANS


IMPORT_TYPES: tuple[ImportTypeInfo, ...] = (
    ImportTypeInfo(
        ImportType.CATALOG,
        "Каталог товаров",
        "Создание и обновление групп, товаров и их характеристик из 1С: наименование, артикул, бренд, картинки",
        "data/import_1c/groups/*.xml, goods/*.xml, offers/*.xml",
        requires_catalog=IMPORT_PLANS[ImportType.CATALOG].needs_catalog,
    ),
    ImportTypeInfo(
        ImportType.STOCKS,
        "Остатки",
        "Обновление складов и остатков товаров по складам из 1С",
        "data/import_1c/storages/*.xml, rests/*.xml",
        requires_catalog=IMPORT_PLANS[ImportType.STOCKS].needs_catalog,
    ),
    ImportTypeInfo(
        ImportType.PRICES,
        "Цены",
        "Обновление типов цен и цен товаров из 1С",
        "data/import_1c/priceLists/*.xml, prices/*.xml",
        requires_catalog=IMPORT_PLANS[ImportType.PRICES].needs_catalog,
    ),
    ImportTypeInfo(
        ImportType.CUSTOMERS,
        "Контрагенты",
        "Создание и обновление контрагентов (покупателей) из 1С",
        "data/import_1c/contragents/*.xml",
        requires_catalog=IMPORT_PLANS[ImportType.CUSTOMERS].needs_catalog,
    ),
    ImportTypeInfo(
        ImportType.IMAGES,
        "Только изображения товаров",
        "Обновление изображений товаров из директории 1С (main_image и gallery_images)",
        "data/import_1c/goods/import_files/XX/*.jpg, *.png",
        requires_catalog=True,
    ),
)

IMPORT_TYPES_BY_VALUE = {info.import_type: info for info in IMPORT_TYPES}
