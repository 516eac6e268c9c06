"""Domain errors of the product image import. Messages name the file and the fix; raised
with an apps.i18n Message, they are recorded in the site's language (`message_of`)."""


class ImageImportError(Exception):
    """One source image could not be imported; the run records it and moves on."""


class UnsafeImagePathError(ImageImportError):
    """A picture path points outside the exchange's import_files directory."""


class InvalidImageError(ImageImportError):
    """The file is not a usable JPEG or PNG image."""


class ImageStorageError(ImageImportError):
    """Media storage refused the write (disk full, permissions, ...)."""


class MediaStorageUnavailableError(OSError):
    """The media storage (S3) failed a request past the client's own retries: unreachable,
    throttling, refusing. Not a per-file error: the chunk fails and is retried as a step
    (an OSError, so the step's transient-fault retries apply)."""


class MediaSetupError(Exception):
    """The media settings or storage cannot be used at all: the whole run fails, unretried."""


class ImageSettingsError(MediaSetupError):
    """An image setting cannot be read (ONEC_IMAGE_RENDITIONS): the run fails before any
    product is touched; the message names the setting and an example."""


class MediaStorageError(MediaSetupError):
    """The media storage cannot be used at all (no bucket, bad credentials, not writable):
    the run fails before any product is touched; the message names the storage and the fix."""
