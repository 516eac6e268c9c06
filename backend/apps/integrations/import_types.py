"""What each 1C import type is, as the admin page describes it to a person."""
from __future__ import annotations

from dataclasses import dataclass

from .models import ImportSession

ImportType = ImportSession.ImportType


@dataclass(frozen=True)
class ImportTypeInfo:
    import_type: str
    label: str
    description: str
    files: str
    requires_catalog: bool


IMPORT_TYPES: tuple[ImportTypeInfo, ...] = (
    ImportTypeInfo(
        ImportType.CATALOG,
        "Каталог товаров",
        "Создание и обновление товаров из 1С: наименование, артикул, пометка удаления и список картинок",
        "data/import_1c/goods/*.xml",
        requires_catalog=False,
    ),
    ImportTypeInfo(
        ImportType.STOCKS,
        "Остатки",
        "Обновление остатков товаров по складам из 1С",
        "data/import_1c/rests/*.xml",
        requires_catalog=True,
    ),
    ImportTypeInfo(
        ImportType.PRICES,
        "Цены",
        "Обновление цен товаров по типам цен из 1С",
        "data/import_1c/prices/*.xml",
        requires_catalog=True,
    ),
    ImportTypeInfo(
        ImportType.CUSTOMERS,
        "Контрагенты",
        "Создание и обновление контрагентов (покупателей) из 1С",
        "data/import_1c/contragents/*.xml",
        requires_catalog=False,
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
