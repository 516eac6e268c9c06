"""A per-file reason's technical detail in brackets reads in the admin's language: what
Pillow or the operating system said about real damaged files and real failed file-system
calls, as a Message (apps/media/error_details.py); an unknown one keeps its own text."""
from __future__ import annotations

import io

import pytest
from django.core.files.storage import FileSystemStorage
from django.utils import translation
from PIL import Image

from apps.i18n.messages import message_of, message_text
from apps.media.error_details import error_detail
from apps.media.exceptions import ImageImportError
from apps.media.files import decode_image
from apps.media.rendering import renditions_make, rendition_specs_from_setting
from apps.media.storage import LocalMediaStorage


def _encoded(image_format: str) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((200, 150), 60).convert("RGB").save(out, image_format)
    return out.getvalue()


def _truncated_jpeg() -> bytes:
    data = _encoded("JPEG")
    return data[: len(data) // 2]


def _jpeg_header_then_junk() -> bytes:
    return b"\xff\xd8\xff" + b"junk" * 100


def _png_with_broken_data() -> bytes:
    data = bytearray(_encoded("PNG"))
    start = data.find(b"IDAT") + 20
    data[start:start + 300] = bytes(byte ^ 0x55 for byte in data[start:start + 300])
    return bytes(data)


def _refused(data: bytes) -> ImageImportError:
    with pytest.raises(ImageImportError) as refused:
        decode_image(io.BytesIO(data), "import_files/0a/photo.jpg")
    return refused.value


def _said(exc: BaseException, language: str) -> str:
    with translation.override(language):
        return message_text(message_of(exc))


@pytest.mark.parametrize("damaged, russian, english, pillows", [
    (_truncated_jpeg, "(файл обрезан (недописан до конца))", "(the file is cut short (truncated))", "image file is truncated"),
    (_png_with_broken_data, "(сжатые данные изображения повреждены)", "(the compressed image data is broken)",
     "broken data stream"),
    (_jpeg_header_then_junk, "(библиотека изображений не распознаёт формат файла)",
     "(the image library does not recognise the file's format)", "cannot identify image file"),
])
def test_a_damaged_photos_reason_says_what_pillow_found_in_the_sites_language(damaged, russian, english, pillows):
    refused = _refused(damaged())

    assert _said(refused, "ru").startswith("import_files/0a/photo.jpg: ") and russian in _said(refused, "ru")
    assert english in _said(refused, "en")
    assert pillows not in _said(refused, "ru") + _said(refused, "en")


def test_a_decompression_bomb_says_its_pixels_not_pillows_sentence(settings, monkeypatch):
    settings.ONEC_IMAGE_MAX_PIXELS = 10_000  # Pillow refuses above twice this: 200 x 150 = 30,000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # the decoders set Pillow's: restored afterwards

    refused = _refused(_encoded("PNG"))
    with pytest.raises(ImageImportError) as no_renditions:
        renditions_make(source=io.BytesIO(_encoded("PNG")), specs=rendition_specs_from_setting("webp:100"), name="big.png")

    for exc in (refused, no_renditions.value):
        assert "(пикселей: 30000)" in _said(exc, "ru") and "(pixels: 30000)" in _said(exc, "en")
        assert "decompression bomb DOS attack" not in _said(exc, "ru") + _said(exc, "en")


def test_the_operating_systems_errors_read_in_the_sites_language(tmp_path):
    (tmp_path / "a-file").write_bytes(b"x")
    failures = {}
    for name, fails in {
        "ENOENT": lambda: open(tmp_path / "missing.jpg", "rb"),
        "ENOTDIR": lambda: open(tmp_path / "a-file" / "photo.jpg", "rb"),
        "EISDIR": lambda: open(tmp_path, "wb"),
        "EIO": lambda: open("/proc/self/mem", "rb").read(1),  # the kernel refuses to read unmapped memory
    }.items():
        with pytest.raises(OSError) as failed:
            fails()
        failures[name] = failed.value

    with translation.override("ru"):
        said = {name: message_text(error_detail(exc)) for name, exc in failures.items()}
    assert said == {
        "ENOENT": "нет такого файла или папки",
        "ENOTDIR": "часть пути — файл, а не папка",
        "EISDIR": "это папка, а не файл",
        "EIO": "ошибка ввода-вывода диска или сетевой файловой системы",
    }
    assert error_detail(OSError(123456, "Something new")) == "Something new"  # unknown: the OS's own text


def test_an_unknown_os_error_never_says_the_servers_path():
    unknown = OSError(123456, "Something new", "/srv/onec/secret/photo.jpg")
    without_strerror = OSError("cannot do it with /srv/onec/secret/photo.jpg")

    assert error_detail(unknown) == "Something new" and error_detail(without_strerror) == "OSError"
    assert error_detail(ValueError("")) == "ValueError"


def test_a_storage_write_the_os_refuses_reads_in_russian(tmp_path):
    (tmp_path / "products").write_bytes(b"a file where the folder should be")
    storage = LocalMediaStorage(FileSystemStorage(location=str(tmp_path)))
    (tmp_path / ".incoming").mkdir()

    with pytest.raises(ImageImportError) as refused:
        storage.put("products/photo.jpg", b"data", content_type="image/jpeg")

    assert _said(refused.value, "ru").endswith("(часть пути — файл, а не папка)")
    assert "Not a directory" not in _said(refused.value, "ru")
