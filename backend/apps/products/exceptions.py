"""Domain errors of the catalog. Messages name the file or product and what to do."""


class SitePhotoRefusedError(Exception):
    """A photo an admin uploaded is not one the site can show (not JPEG, PNG or WebP)."""
