from pathlib import Path

import pytest

from rag.documents import decode, extract_metadata, find_files, read_document
from rag.errors import InputError
from tests.conftest import SEEDS


def test_seed_metadata():
    doc = read_document(SEEDS / "002_9a8e32283f0f2645.txt", 10**7)
    assert doc.title == "Blinken to meet with senior Russian as Ukraine tensions soar"
    assert doc.date == "2022-01-18"
    assert doc.url.startswith("https://www.thereminder.ca/")
    assert read_document(SEEDS / "004_e63c1b3594661294.txt", 10**7).date == "2022-02-18"


def test_markdown_title():
    assert extract_metadata("# Notes on Geneva\n\nText.", ".md")[0] == "Notes on Geneva"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\t ", "empty file"),
        (b"\x00\x01\x02binary\x00", "binary"),
        (bytes(range(1, 32)) * 50, "binary"),
    ],
)
def test_unusable_files_get_a_reason(tmp_path: Path, content: bytes, reason: str):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    result = read_document(f, 10**7)
    assert isinstance(result, str) and reason in result


def test_non_utf8_text_is_decoded_as_windows_1252(tmp_path: Path):
    f = tmp_path / "latin.txt"
    f.write_bytes("Le Drian a parlé à Lavrov.".encode("cp1252"))
    assert read_document(f, 10**7).text == "Le Drian a parlé à Lavrov."


def test_utf16_with_bom(tmp_path: Path):
    f = tmp_path / "wide.txt"
    f.write_bytes("Hello Geneva.".encode("utf-16"))
    assert read_document(f, 10**7).text == "Hello Geneva."


def test_oversized_file_is_skipped_with_the_setting_to_change(tmp_path: Path):
    f = tmp_path / "big.txt"
    f.write_text("a" * 2000)
    result = read_document(f, 1000)
    assert isinstance(result, str) and "RAG_MAX_FILE_MB" in result


def test_unreadable_file(tmp_path: Path):
    import os

    f = tmp_path / "secret.txt"
    f.write_text("hidden")
    f.chmod(0)
    if os.geteuid() == 0:  # root reads anything: simulate with a directory named like a file
        f.chmod(0o600)
        f.unlink()
        f.mkdir()
    result = read_document(f, 10**7)
    assert isinstance(result, str) and ("permission" in result or "not a regular file" in result)


def test_find_files_walks_folders_skips_other_types_and_survives_symlink_loops(tmp_path: Path):
    (tmp_path / "a.txt").write_text("A.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("B.")
    (tmp_path / "sub" / "c.png").write_bytes(b"\x89PNG")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    files, skipped = find_files([tmp_path])
    assert [f.name for f in files] == ["a.txt", "b.md"]
    assert list(skipped.values())[0].startswith("unsupported type .png")


def test_missing_path_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist"):
        find_files([tmp_path / "nope"])


def test_decode_prefers_utf8():
    assert decode("naïve “quotes”".encode()) == "naïve “quotes”"
