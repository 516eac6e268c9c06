"""Renditions, the pure part: spec parsing, names, and the pixels that come out (upright,
sRGB through the embedded profile, alpha kept or flattened, never upscaled, no metadata,
JPEG decoded at a reduced DCT scale) and the per-file errors. Images are made in memory."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from apps.media.exceptions import ImageImportError
from apps.media.rendering import (
    RenditionError,
    RenditionSpec,
    rendition_name,
    rendition_specs_from_setting,
    renditions_make,
)

DEFAULT = "webp:320,webp:800,webp:1600,jpeg:800"
ORIENTATION = 0x0112
RED, BLUE, WHITE = (220, 20, 20), (20, 20, 220), (255, 255, 255)


def _jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, **options)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _make(data: bytes, spec: str = DEFAULT, name: str = "import_files/ab/photo.jpg"):
    return renditions_make(source=io.BytesIO(data), specs=rendition_specs_from_setting(spec), name=name)


def _open(rendition) -> Image.Image:
    image = Image.open(io.BytesIO(rendition.data))
    image.load()
    return image


def _near(actual, expected, tolerance):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def _cmyk_profile() -> Path:
    for path in sorted(Path("/usr/share/color").rglob("*.ic[cm]")):
        try:
            if ImageCms.getOpenProfile(str(path)).profile.xcolor_space.strip() == "CMYK":
                return path
        except (ImageCms.PyCMSError, OSError):
            continue
    pytest.fail("no CMYK ICC profile under /usr/share/color: apt-get install -y libgs-common (./dev test does)")


# --- the spec and the names --------------------------------------------------------------

def test_the_setting_parses_into_specs_and_empty_turns_them_off():
    assert rendition_specs_from_setting(DEFAULT) == (
        RenditionSpec("webp", 320), RenditionSpec("webp", 800), RenditionSpec("webp", 1600), RenditionSpec("jpeg", 800),
    )
    assert rendition_specs_from_setting(" WebP:320 , jpg:800 ,") == (RenditionSpec("webp", 320), RenditionSpec("jpeg", 800))
    assert rendition_specs_from_setting("") == ()
    assert rendition_specs_from_setting("  ") == ()


@pytest.mark.parametrize("value, words", [
    ("png:320", "'png:320' is not FORMAT:WIDTH"),
    ("webp", "'webp' is not FORMAT:WIDTH"),
    ("webp:wide", "needs a width in pixels"),
    ("webp:0", "needs a width in pixels"),
    ("webp:-5", "needs a width in pixels"),
    ("webp:320,webp:320", "listed twice"),
])
def test_a_bad_setting_names_the_setting_and_the_item(value, words):
    with pytest.raises(ValueError) as raised:
        rendition_specs_from_setting(value)
    assert str(raised.value).startswith("ONEC_IMAGE_RENDITIONS: ")
    assert words in str(raised.value)


def test_names_come_from_the_content_hash_and_the_spec():
    one, other = hashlib.sha256(b"one").hexdigest(), hashlib.sha256(b"other").hexdigest()
    webp800 = RenditionSpec("webp", 800)

    name = rendition_name(source_sha256=one, spec=webp800)

    assert name == f"renditions/{one[:2]}/{one}_w800.webp"
    assert rendition_name(source_sha256=one, spec=RenditionSpec("webp", 800)) == name
    assert rendition_name(source_sha256=other, spec=webp800) != name
    assert rendition_name(source_sha256=one, spec=RenditionSpec("jpeg", 800)) == f"renditions/{one[:2]}/{one}_w800.jpg"
    assert rendition_name(source_sha256=one, spec=RenditionSpec("webp", 320)) != name
    assert rendition_name(source_sha256=one, spec=webp800, version=2).endswith("_w800_v2.webp")
    with pytest.raises(ValueError, match="64 lowercase hex"):
        rendition_name(source_sha256="not-a-hash", spec=webp800)


# --- the pixels --------------------------------------------------------------------------

def test_an_exif_rotated_photo_comes_out_upright_without_its_exif():
    raw = Image.new("RGB", (60, 40), BLUE)
    raw.paste(RED, (0, 0, 30, 40))  # as stored: red on the left
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # show turned 90 degrees clockwise: the left edge goes to the top
    exif[0x010F] = "Camera maker"

    renditions = _make(_jpeg(raw, exif=exif), "webp:800,jpeg:800")

    for rendition in renditions:
        image = _open(rendition)
        assert (rendition.width, rendition.height) == image.size == (40, 60)
        assert _near(image.convert("RGB").getpixel((20, 5)), RED, 40)
        assert _near(image.convert("RGB").getpixel((20, 55)), BLUE, 40)
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info


def test_a_cmyk_jpeg_keeps_its_colours_through_its_embedded_profile():
    profile_path = _cmyk_profile()
    cmyk_profile = ImageCms.getOpenProfile(str(profile_path))
    known = (40, 110, 190)  # a calm blue, inside a press's gamut
    cmyk = ImageCms.profileToProfile(
        Image.new("RGB", (64, 48), known), ImageCms.createProfile("sRGB"), cmyk_profile, outputMode="CMYK"
    )
    data = _jpeg(cmyk, icc_profile=cmyk_profile.tobytes())
    plain = Image.open(io.BytesIO(data)).convert("RGB").getpixel((32, 24))  # what a mode conversion gives

    renditions = _make(data, "webp:800,jpeg:800")

    for rendition in renditions:
        image = _open(rendition)
        assert image.mode == "RGB" and "icc_profile" not in image.info
        pixel = image.getpixel((32, 24))
        assert _near(pixel, known, 12), (pixel, known, profile_path)
    assert not _near(plain, known, 12), "the profile must matter for this colour, or the test proves nothing"


def test_an_rgb_photo_tagged_with_a_wider_profile_is_converted_to_srgb():
    wide = Path("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc")
    if not wide.exists():
        pytest.fail(f"{wide} missing: apt-get install -y icc-profiles-free")
    stored = (60, 160, 90)  # the file's numbers, meant in Adobe RGB
    expected = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), stored), str(wide), ImageCms.createProfile("sRGB")
    ).getpixel((0, 0))
    data = _jpeg(Image.new("RGB", (64, 48), stored), icc_profile=wide.read_bytes())

    (webp,) = _make(data, "webp:800")

    assert _near(_open(webp).getpixel((32, 24)), expected, 6)
    assert not _near(stored, expected, 6), "the profile must matter for this colour"


def test_a_broken_embedded_profile_is_ignored_not_fatal(caplog):
    data = _jpeg(Image.new("RGB", (64, 48), RED), icc_profile=b"not a profile at all")

    (webp,) = _make(data, "webp:800")

    assert _near(_open(webp).getpixel((32, 24)), RED, 30)
    assert "import_files/ab/photo.jpg: встроенный цветовой профиль (ICC) непригоден (" in caplog.text


def test_a_png_with_alpha_keeps_it_in_webp_and_is_flattened_on_white_in_jpeg():
    image = Image.new("RGBA", (80, 40), (0, 0, 0, 0))  # transparent black on the left
    image.paste((*RED, 255), (40, 0, 80, 40))

    jpeg, webp = _make(_png(image), "webp:800,jpeg:800", name="cutout.png")  # widest first, then by format

    assert webp.format == "webp" and webp.content_type == "image/webp"
    out = _open(webp)
    assert out.mode == "RGBA"
    assert out.getpixel((10, 20))[3] == 0 and out.getpixel((70, 20))[3] == 255
    assert jpeg.format == "jpeg" and jpeg.content_type == "image/jpeg"
    out = _open(jpeg)
    assert out.mode == "RGB"
    assert _near(out.getpixel((10, 20)), WHITE, 8)
    assert _near(out.getpixel((70, 20)), RED, 30)


def test_never_upscaled_and_specs_that_collapse_make_one_rendition():
    renditions = _make(_jpeg(Image.new("RGB", (300, 200), RED)), "webp:320,webp:800,webp:1600,jpeg:800,webp:150")

    assert [(r.format, r.width, r.height) for r in renditions] == [("jpeg", 300, 200), ("webp", 300, 200), ("webp", 150, 100)]
    assert [_open(r).size for r in renditions] == [(300, 200), (300, 200), (150, 100)]
    assert [r.spec for r in renditions] == [RenditionSpec("jpeg", 300), RenditionSpec("webp", 300), RenditionSpec("webp", 150)]


def test_a_large_jpeg_is_decoded_at_a_reduced_dct_scale(monkeypatch):
    decoded = []
    original_load = JpegImagePlugin.JpegImageFile.load

    def load(self):
        result = original_load(self)
        decoded.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    source = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")

    renditions = _make(_jpeg(source), "webp:320,webp:800")

    assert decoded and decoded[0] == (1000, 750)  # 1/4: the smallest scale still 800 wide
    assert [(r.width, r.height) for r in renditions] == [(800, 600), (320, 240)]


def test_metadata_is_stripped():
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x0110] = "Camera model"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _jpeg(Image.new("RGB", (64, 48), RED), exif=exif, icc_profile=srgb, comment=b"shot in the studio")

    for rendition in _make(data):
        assert b"Camera maker" not in rendition.data and b"studio" not in rendition.data
        image = _open(rendition)
        assert not image.getexif()
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(image.info)


def test_only_the_first_frame_of_an_animated_gif():
    frames = [Image.new("RGB", (40, 30), RED), Image.new("RGB", (40, 30), BLUE)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    (webp,) = _make(buffer.getvalue(), "webp:800")

    out = _open(webp)
    assert not getattr(out, "is_animated", False)
    assert _near(out.convert("RGB").getpixel((20, 15)), RED, 40)


# --- per-file errors ---------------------------------------------------------------------

def test_a_truncated_photo_is_a_per_file_error_naming_it(tmp_path):
    path = tmp_path / "cut.jpg"
    data = _jpeg(Image.effect_noise((400, 300), 60).convert("RGB"))
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(RenditionError) as raised:
        renditions_make(source=path, specs=rendition_specs_from_setting(DEFAULT))

    assert isinstance(raised.value, ImageImportError)
    assert str(raised.value).startswith(f"{path}: the image data is damaged")


def test_a_file_that_is_not_an_image_names_the_file(tmp_path):
    path = tmp_path / "text.jpg"
    path.write_text("not a picture")

    with pytest.raises(RenditionError, match=rf"^{path}: not an image"):
        renditions_make(source=path, specs=rendition_specs_from_setting(DEFAULT))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(20, 20), (40, 40)])  # over the limit; over twice it (Pillow's own refusal)
def test_a_decompression_bomb_is_refused_with_the_setting(settings, monkeypatch, size):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored afterwards
    settings.ONEC_IMAGE_MAX_PIXELS = 300

    with pytest.raises(RenditionError) as raised:
        _make(_png(Image.new("RGB", size, RED)), name="import_files/ab/bomb.png")

    message = str(raised.value)
    assert message.startswith("import_files/ab/bomb.png: ")
    assert "decompression bomb" in message and "ONEC_IMAGE_MAX_PIXELS" in message


def test_no_specs_decode_nothing():
    assert renditions_make(source=io.BytesIO(b"not even read"), specs=()) == []
