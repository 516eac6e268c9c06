"""Finding a product's images and refusing unsafe paths."""
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from apps.media.exceptions import InvalidImageError, UnsafeImagePathError
from apps.imports.services.image_sources import _cleaned_parts, _usual_spelling_parts, resolve_source_image
from apps.imports.services.image_sources import product_image_paths

GUID = "0abc1234-0000-0000-0000-000000000001"


def test_ordered_picture_list_wins_over_the_scan(exchange):
    listed = [exchange.add_image(GUID, "z"), exchange.add_image(GUID, "a")]
    exchange.add_image(GUID, "m")

    assert product_image_paths(onec_id=GUID, picture_paths=listed, images_dir=exchange.images_dir) == listed


def test_scan_finds_goods_files_in_any_case_in_name_order(exchange):
    exchange.add_image(GUID, "b", ext="JPG")
    exchange.add_image(GUID, "a", ext="png")
    exchange.add_image(GUID, "c", ext="Jpeg")
    (exchange.images_dir / "0a" / f"{GUID}_d.gif").write_bytes(b"GIF89a")
    exchange.add_image("0abc9999-0000-0000-0000-000000000002", "x")  # another product's file

    found = product_image_paths(onec_id=f"{GUID}#char-guid", picture_paths=[], images_dir=exchange.images_dir)

    assert found == [f"import_files/0a/{GUID}_a.png", f"import_files/0a/{GUID}_b.JPG", f"import_files/0a/{GUID}_c.Jpeg"]


def test_scan_without_folder_finds_nothing(exchange):
    assert product_image_paths(onec_id=GUID, picture_paths=[], images_dir=exchange.images_dir) == []


def test_scan_reads_each_folder_once_until_it_changes(exchange, monkeypatch):
    exchange.add_image(GUID, "a")
    calls = []
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: calls.append(path) or real_scandir(path))
    for _ in range(3):
        product_image_paths(onec_id=GUID, picture_paths=[], images_dir=exchange.images_dir)
    assert len(calls) == 1
    exchange.add_image(GUID, "b")
    assert len(product_image_paths(onec_id=GUID, picture_paths=[], images_dir=exchange.images_dir)) == 2


@pytest.mark.parametrize(
    "bad_path",
    [
        "/etc/passwd.jpg", "import_files/../../secret.jpg", "import_files/../secret.jpg", "../goods.jpg",
        "01/../../x.jpg", "C:/x.jpg", "", "01/x\x00.jpg", "import_files/01/x\x00.jpg",
    ],
)
def test_paths_leaving_import_files_are_refused(exchange, bad_path):
    with pytest.raises(UnsafeImagePathError):
        resolve_source_image(bad_path, exchange.images_dir)


def test_symlink_out_of_the_data_dir_is_refused(exchange, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8\xff secret")
    (exchange.images_dir / "01").mkdir()
    (exchange.images_dir / "01" / "link.jpg").symlink_to(secret)

    with pytest.raises(UnsafeImagePathError, match="outside"):
        resolve_source_image("import_files/01/link.jpg", exchange.images_dir)


def test_a_chunk_checks_each_folder_once_and_still_refuses_a_symlinked_folder(exchange, tmp_path, monkeypatch):
    """Resolving many paths with one `real_folders` set: one lstat per file in a folder
    already checked; a folder that is a symlink out of import_files is refused every time."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(b"\xff\xd8\xff secret")
    (exchange.images_dir / "02").symlink_to(outside, target_is_directory=True)
    first, second = exchange.add_image("01" + GUID[2:], "a"), exchange.add_image("01" + GUID[2:], "b")
    real_folders: set[str] = set()
    lstats = []
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda path: lstats.append(path) or real_lstat(path))

    sources = [resolve_source_image(path, exchange.images_dir, real_folders=real_folders) for path in (first, second)]
    assert [source.stat is not None for source in sources] == [True, True]
    assert len(lstats) == 3  # the folder once, then each file
    for _ in range(2):
        with pytest.raises(UnsafeImagePathError, match="outside"):
            resolve_source_image("import_files/02/x.jpg", exchange.images_dir, real_folders=real_folders)


def test_non_image_extension_is_refused(exchange):
    with pytest.raises(InvalidImageError, match="not a .jpg"):
        resolve_source_image("import_files/01/run.sh", exchange.images_dir)


def test_path_forms_resolve_to_one_media_name(exchange):
    names = {
        resolve_source_image(p, exchange.images_dir).media_name
        for p in (
            "import_files/01/x.jpg", "01/x.jpg", "01\\x.jpg", " import_files/01/x.jpg ", "import_files/01/x.jpg\t",
            "import_files//01/x.jpg", "import_files/./01/x.jpg", "import_files\\01/x.jpg",
        )
    }
    assert names == {"products/01/x.jpg"}


_TRICKY_PARTS = ["import_files", "01", "ab", "", ".", "..", " ", " 01", "01 ", "x.jpg", "X.JPEG", "x.png", ".jpg",
                 "x.jpg ", " x.jpg", "x.jpg\t", "x.jpg\n", "x.gif", "x\x00.jpg", "C:", "~", "фото 1.jpg", "a\\b.jpg",
                 "x.jpg\u2028", "\u00a0x.jpg", "x.jpg\x1c"]


@st.composite
def _picture_paths(draw):
    """1C's spelling and its near misses: tricky components joined by / or \\, often behind
    import_files/, sometimes with whitespace around the whole."""
    parts = draw(st.lists(st.one_of(st.sampled_from(_TRICKY_PARTS), st.text(max_size=6)), min_size=1, max_size=4))
    path = "".join(part + draw(st.sampled_from(["/", "/", "\\", "//"])) for part in parts[:-1]) + parts[-1]
    if draw(st.booleans()):
        path = "import_files/" + path
    return draw(st.sampled_from(["", " ", "\t", "/"])) + path + draw(st.sampled_from(["", " ", "\n"]))


@settings(max_examples=500)
@given(_picture_paths())
@example("import_files/01/x.jpg")
@example("import_files/ /x.jpg")
@example("import_files/import_files/x.jpg")
@example("import_files/01/x.jpg\u2028")
@example("import_files/../x.jpg")
@example("import_files/01/..")
@example("import_files/01/.jpg")
def test_the_usual_spelling_shortcut_agrees_with_the_full_clean_up(path):
    """The one-split shortcut for `import_files/XX/<file>` is a second copy of the path-safety
    rule: whatever it accepts, the full clean-up accepts too, as the same parts."""
    shortcut = _usual_spelling_parts(path)
    if shortcut is None:
        return
    assert _cleaned_parts(path) == shortcut
