"""Web renditions of a product photo: the spec (`ONEC_IMAGE_RENDITIONS`), their names and the
pure image work (bytes in, encoded bytes out; no storage, no database).

A rendition is upright (EXIF orientation applied), in sRGB (an embedded ICC profile or CMYK
converted with its profile), without metadata, never wider than its source, WebP keeping
transparency or JPEG flattened on white. JPEG sources are decoded at the smallest DCT scale
that still covers the widest rendition; smaller renditions are made from the larger one.
"""
from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext, gettext_noop
from PIL import GifImagePlugin, Image, ImageCms, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from apps.i18n.messages import Message, message_of, message_text

from .error_details import error_detail
from .exceptions import ImageImportError, ImageSettingsError

logger = logging.getLogger(__name__)

SETTING = "ONEC_IMAGE_RENDITIONS"
MAX_WIDTH = 8000
# Bump when the encoder settings below change the bytes: the names change with it, so a
# cached URL never serves different pixels (`Cache-Control: immutable`).
RENDITIONS_VERSION = 1

# format -> (Pillow format, content type, file extension)
FORMATS = {
    "webp": ("WEBP", "image/webp", "webp"),
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
}
_FORMAT_ALIASES = {"jpg": "jpeg"}
_ENCODER_OPTIONS = {
    "webp": {"quality": 80, "method": 4},
    "jpeg": {"quality": 85, "optimize": True},
}
# The source formats we decode (imported above: open(formats=...) loads no plugin itself);
# JPEG includes the MPO files of cameras and phones.
_SOURCE_FORMATS = tuple(
    plugin.format
    for plugin in (JpegImagePlugin.JpegImageFile, PngImagePlugin.PngImageFile,
                   WebPImagePlugin.WebPImageFile, GifImagePlugin.GifImageFile)
)
_WHITE = (255, 255, 255)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_UPRIGHT_SWAPS = {5, 6, 7, 8}  # EXIF orientations that turn the picture by 90 degrees
_EXIF_ORIENTATION = 0x0112


class RenditionError(ImageImportError):
    """A photo cannot be rendered (damaged, not an image, too many pixels): a per-file error."""


@dataclass(frozen=True, order=True)
class RenditionSpec:
    format: str  # "webp" or "jpeg"
    width: int

    def __str__(self) -> str:
        return f"{self.format}:{self.width}"


@dataclass(frozen=True)
class Rendition:
    """One encoded rendition; `spec` is what it is (its width after the no-upscale rule)."""

    spec: RenditionSpec
    width: int
    height: int
    data: bytes

    @property
    def format(self) -> str:
        return self.spec.format

    @property
    def content_type(self) -> str:
        return FORMATS[self.spec.format][1]


def rendition_specs_from_setting(value: str) -> tuple[RenditionSpec, ...]:
    """Parse `ONEC_IMAGE_RENDITIONS`, e.g. "webp:320,webp:800,webp:1600,jpeg:800"; empty: off."""
    specs: list[RenditionSpec] = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        fmt, sep, width = (part.strip() for part in item.partition(":"))
        fmt = _FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
        if not sep or fmt not in FORMATS:
            raise ValueError(Message(
                gettext_noop(
                    "%(setting)s: %(item)s is not FORMAT:WIDTH with FORMAT one of %(formats)s "
                    "(e.g. %(setting)s=webp:320,webp:800,webp:1600,jpeg:800; empty turns renditions off)"
                ),
                setting=SETTING, item=repr(item), formats=", ".join(FORMATS),
            ))
        if not width.isdigit() or not 1 <= int(width) <= MAX_WIDTH:
            raise ValueError(Message(
                gettext_noop("%(setting)s: %(item)s needs a width in pixels from 1 to %(max)s"),
                setting=SETTING, item=repr(item), max=MAX_WIDTH,
            ))
        spec = RenditionSpec(fmt, int(width))
        if spec in specs:
            raise ValueError(Message(gettext_noop("%(setting)s: %(item)s is listed twice"), setting=SETTING, item=repr(item)))
        specs.append(spec)
    return tuple(specs)


def configured_rendition_specs() -> tuple[RenditionSpec, ...]:
    """The renditions the import makes, from `ONEC_IMAGE_RENDITIONS`."""
    try:
        return rendition_specs_from_setting(getattr(settings, SETTING))
    except ValueError as exc:
        raise ImageSettingsError(message_of(exc)) from exc


def renditions_spec_key(specs: Sequence[RenditionSpec]) -> str:
    """What a StoredImage records as `renditions_spec`: the specs and the encoder version, so
    a changed setting or encoder makes the next run complete the renditions."""
    return f"v{RENDITIONS_VERSION}:" + ",".join(str(spec) for spec in specs) if specs else ""


def rendition_for(requested: RenditionSpec, made: Sequence[Rendition]) -> Rendition:
    """Which of `made` (one photo's renditions) serves `requested`: the one of its width or,
    when the photo is narrower than that (never upscaled), the widest of its format."""
    same_format = [rendition for rendition in made if rendition.format == requested.format]
    exact = [rendition for rendition in same_format if rendition.width == requested.width]
    return exact[0] if exact else max(same_format, key=lambda rendition: rendition.width)


def rendition_source_sha256(name: str) -> str:
    """The source content hash a rendition's name (`rendition_name`) carries."""
    return name.rsplit("/", 1)[-1][:64]


def rendition_name(*, source_sha256: str, spec: RenditionSpec, version: int = RENDITIONS_VERSION) -> str:
    """Storage name of a rendition: the source's content hash and the (made) spec, so a name
    always means the same pixels, e.g. `renditions/ab/<sha256>_w800.webp`."""
    if not _SHA256.fullmatch(source_sha256):
        raise ValueError(f"source_sha256 must be 64 lowercase hex digits, not {source_sha256!r}")
    suffix = "" if version == 1 else f"_v{version}"
    return f"renditions/{source_sha256[:2]}/{source_sha256}_w{spec.width}{suffix}.{FORMATS[spec.format][2]}"


def renditions_planned(*, specs: Iterable[RenditionSpec], source_width: int) -> tuple[RenditionSpec, ...]:
    """The renditions a source this wide (upright) gets, widest first: a spec wider than the
    source is made at the source's width, and specs that then coincide are made once."""
    made = {RenditionSpec(spec.format, min(spec.width, source_width)) for spec in specs}
    return tuple(sorted(made, key=lambda spec: (-spec.width, spec.format)))


def renditions_make(
    *,
    source: BinaryIO | Path | str,
    specs: Sequence[RenditionSpec],
    name: str | None = None,
    max_pixels: int | None = None,
) -> list[Rendition]:
    """Encode the renditions of one photo, widest first. `name` is what error messages call
    the file (default: its path); `max_pixels` defaults to `ONEC_IMAGE_MAX_PIXELS`."""
    label = name or _label(source)
    if not specs:
        return []
    limit = settings.ONEC_IMAGE_MAX_PIXELS if max_pixels is None else max_pixels
    Image.MAX_IMAGE_PIXELS = limit  # Pillow's own check in open(); ours below is the strict one
    try:
        with Image.open(source, formats=_SOURCE_FORMATS) as image:
            return _render(image, specs, label, limit)
    except RenditionError:
        raise
    except Image.DecompressionBombError as exc:
        raise RenditionError(Message(
            gettext_noop(
                "%(path)s: refused as a possible decompression bomb (%(error)s); "
                "raise ONEC_IMAGE_MAX_PIXELS if the photo is genuine"
            ),
            path=label, error=error_detail(exc),
        )) from exc
    except Image.UnidentifiedImageError as exc:
        raise RenditionError(Message(
            gettext_noop("%(path)s: not an image (JPEG, PNG, WebP or GIF expected); replace the file in 1C"), path=label
        )) from exc
    except FileNotFoundError as exc:
        raise RenditionError(
            Message(gettext_noop("%(path)s: the file is missing; no renditions made"), path=label)
        ) from exc
    except (OSError, SyntaxError, ValueError, ImageCms.PyCMSError) as exc:
        raise RenditionError(Message(
            gettext_noop("%(path)s: the image data is damaged (%(error)s); replace the file in 1C"),
            path=label, error=error_detail(exc),
        )) from exc


# --- the image work ---------------------------------------------------------------------


def _label(source: BinaryIO | Path | str) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return str(getattr(source, "name", "") or "<image>")


def _render(image: Image.Image, specs: Sequence[RenditionSpec], label: str, limit: int) -> list[Rendition]:
    width, height = image.size
    if width * height > limit:
        raise RenditionError(Message(
            gettext_noop(
                "%(path)s: %(width)sx%(height)s pixels exceeds the limit of %(limit)s (ONEC_IMAGE_MAX_PIXELS); "
                "refused as a possible decompression bomb (raise the setting if it is genuine)"
            ),
            path=label, width=width, height=height, limit=limit,
        ))
    turned = image.getexif().get(_EXIF_ORIENTATION) in _UPRIGHT_SWAPS
    upright_width, upright_height = (height, width) if turned else (width, height)
    planned = renditions_planned(specs=specs, source_width=upright_width)
    widest = planned[0].width
    # The raw (not yet turned) size that covers the widest rendition.
    needed = (max(1, -(-width * widest // upright_width)), max(1, -(-height * widest // upright_width)))
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        image.draft("RGB", needed)  # DCT scaling: decodes at 1/2, 1/4 or 1/8 when that still covers it
    if getattr(image, "is_animated", False):
        image.seek(0)  # first frame only
    frame = _upright_srgb(image, needed, label)
    try:
        return _resize_and_encode(frame, planned, upright_width, upright_height)
    finally:
        frame.close()


def _upright_srgb(image: Image.Image, needed: tuple[int, int], label: str) -> Image.Image:
    """Decode, shrink by whole factors while still twice the size needed, turn upright and
    convert to sRGB (RGB, or RGBA when it has transparency). The caller closes the result."""
    image.load()
    icc = image.info.get("icc_profile")
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    frame = image
    if frame.mode not in ("RGB", "RGBA", "L", "CMYK") or (alpha and frame.mode != "RGBA"):
        frame = _replace(frame, frame.convert("RGBA" if alpha else "RGB"))
    factor = int(min(frame.width / needed[0], frame.height / needed[1]) / 2)
    if factor >= 2:
        frame = _replace(frame, _reduce(frame, factor))
    ImageOps.exif_transpose(frame, in_place=True)
    frame = _replace(frame, _to_srgb(frame, icc, label))
    if frame.mode == "RGBA" and frame.getchannel("A").getextrema() == (255, 255):
        frame = _replace(frame, frame.convert("RGB"))
    frame.info = {}
    return frame


def _reduce(frame: Image.Image, factor: int) -> Image.Image:
    """`Image.reduce`, a band of rows at a time: reducing RGBA premultiplies a copy of its
    whole input, which for a 40-megapixel PNG is another 160 MB."""
    width, height = frame.size
    reduced = Image.new(frame.mode, (-(-width // factor), -(-height // factor)))
    step = factor * 64
    for top in range(0, height, step):
        with frame.crop((0, top, width, min(height, top + step))) as band, band.reduce(factor) as small:
            reduced.paste(small, (0, top // factor))
    return reduced


def _replace(old: Image.Image, new: Image.Image) -> Image.Image:
    """`new` takes `old`'s place and `old`'s pixels are freed at once (the source's too: a
    40-megapixel decode is not kept while the renditions are made)."""
    if new is not old:
        old.close()
    return new


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(frame: Image.Image, icc: bytes | None, label: str) -> Image.Image:
    """Colours through the embedded profile into sRGB; alpha is carried over unchanged.
    Without a profile, RGB is taken as sRGB and CMYK/grey are converted plainly."""
    alpha = frame.getchannel("A") if frame.mode == "RGBA" else None
    colour = frame.convert("RGB") if frame.mode == "RGBA" else frame
    converted = colour
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if colour.mode != "RGB" or not ImageCms.getProfileDescription(profile).strip().startswith("sRGB"):
                converted = ImageCms.profileToProfile(
                    colour, profile, _SRGB, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB"
                )
        except (ImageCms.PyCMSError, OSError) as exc:  # a broken or mismatched profile: plain conversion
            logger.warning("%s", gettext("%(image)s: its embedded colour profile (ICC) is not usable (%(error)s); "
                                          "converted without it") % {"image": label, "error": message_text(error_detail(exc))})
    if converted.mode != "RGB":
        converted = converted.convert("RGB")
    if colour is not frame and colour is not converted:
        colour.close()
    if alpha is not None:
        converted.putalpha(alpha)
        alpha.close()
    return converted


def _resize_and_encode(
    frame: Image.Image, planned: Sequence[RenditionSpec], width: int, height: int
) -> list[Rendition]:
    renditions: list[Rendition] = []
    current = frame
    try:
        for spec in planned:
            size = (spec.width, max(1, round(height * spec.width / width)))
            if current.size != size:
                smaller = current.resize(size, Image.Resampling.LANCZOS)
                if current is not frame:
                    current.close()
                current = smaller
            renditions.append(Rendition(spec, size[0], size[1], _encode(current, spec.format)))
    finally:
        if current is not frame:
            current.close()
    return renditions


def _encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "jpeg" and image.mode == "RGBA":
        with Image.new("RGB", image.size, _WHITE) as flat:
            flat.paste(image, mask=image.getchannel("A"))
            return _encode(flat, fmt)
    buffer = io.BytesIO()
    image.save(buffer, FORMATS[fmt][0], **_ENCODER_OPTIONS[fmt])
    return buffer.getvalue()
