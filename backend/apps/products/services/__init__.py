from .processor import ChunkImportResult, ProductDataProcessor, product_images_import_chunk

__all__ = ["ChunkImportResult", "ProductDataProcessor", "product_images_import_chunk"]
