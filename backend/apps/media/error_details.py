"""The technical detail a per-file reason carries in brackets ("the image data is damaged
(…)", "cannot write … (…)"), in the admin's language: what the image library (Pillow) or the
operating system said, as a Message for the errors an admin meets; Pillow's or the OS's own
English text only for the others."""
from __future__ import annotations

import errno
import re

from django.utils.translation import gettext_noop
from PIL import Image

from apps.i18n.messages import Message

# The operating system's errors, by errno (their strerror is the C library's English).
OS_ERRORS = {
    errno.ENOENT: gettext_noop("no such file or folder"),
    errno.EACCES: gettext_noop("permission denied"),
    errno.EPERM: gettext_noop("operation not permitted"),
    errno.EIO: gettext_noop("input/output error of the disk or network file system"),
    errno.ENOSPC: gettext_noop("no space left on the disk"),
    errno.EDQUOT: gettext_noop("the disk quota is exceeded"),
    errno.EROFS: gettext_noop("the file system is read-only"),
    errno.EISDIR: gettext_noop("a folder, not a file"),
    errno.ENOTDIR: gettext_noop("a part of the path is a file, not a folder"),
    errno.ENAMETOOLONG: gettext_noop("the file name is too long"),
    errno.ESTALE: gettext_noop("the network file system's handle is stale"),
    errno.ETIMEDOUT: gettext_noop("the operation timed out"),
    errno.EMFILE: gettext_noop("too many open files in this process"),
}

# Pillow's errors, by their text (Pillow gives them no codes).
_BOMB = re.compile(r"Image size \((\d+) pixels\)")
IMAGE_ERRORS = (
    (re.compile(r"image file is truncated|Truncated File Read"), gettext_noop("the file is cut short (truncated)")),
    (re.compile(r"cannot identify image file"), gettext_noop("the image library does not recognise the file's format")),
    (re.compile(r"broken data stream"), gettext_noop("the compressed image data is broken")),
)


def error_detail(exc: BaseException) -> Message | str:
    """What the image library or the operating system said, in the site's language where
    it is one an admin meets; else the OS's own short text (strerror) or the exception's
    type: an OSError's str() names the file by its server path, which no answer may show."""
    if isinstance(exc, Image.DecompressionBombError) and (size := _BOMB.search(str(exc))):
        return Message(gettext_noop("pixels: %(pixels)s"), pixels=size[1])  # Pillow's limit is twice ours: not said
    if isinstance(exc, OSError) and exc.errno in OS_ERRORS:
        return Message(OS_ERRORS[exc.errno])
    for pattern, text in IMAGE_ERRORS:
        if pattern.search(str(exc)):
            return Message(text)
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__
