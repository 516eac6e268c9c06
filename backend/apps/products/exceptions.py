"""Domain errors of the product image import. Messages name the file and the fix."""


class ImageImportError(Exception):
    """One source image could not be imported; the run records it and moves on."""


class UnsafeImagePathError(ImageImportError):
    """A picture path points outside the exchange's import_files directory."""


class InvalidImageError(ImageImportError):
    """The file is not a usable JPEG or PNG image."""


class ImageStorageError(ImageImportError):
    """Media storage refused the write (disk full, permissions, ...)."""
