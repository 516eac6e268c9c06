from .processor import ProductDataProcessor, product_images_import_chunk

__all__ = ["ProductDataProcessor", "product_images_import_chunk"]
