import pytest

from rag.chunking import chunk_spans, count_tokens, sentence_spans
from tests.conftest import SEEDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("x", ["x"]),
        ("  padded.  ", ["padded."]),
        ("Sen. Jeanne Shaheen spoke. The U.S. agreed.", ["Sen. Jeanne Shaheen spoke.", "The U.S. agreed."]),
        ("Ça va? Très bien! Отлично.", ["Ça va?", "Très bien!", "Отлично."]),
        ("Title line\nBody sentence.", ["Title line", "Body sentence."]),
        ("It cost 3.5 million. Done.", ["It cost 3.5 million.", "Done."]),
    ],
)
def test_sentence_spans(text, expected):
    assert [text[s:e] for s, e in sentence_spans(text)] == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_blank_text_has_no_chunks(text):
    assert chunk_spans(text) == []


def test_chunks_respect_the_token_limit_and_cover_every_sentence():
    text = (SEEDS / "002_9a8e32283f0f2645.txt").read_text()
    spans = chunk_spans(text, max_tokens=120, overlap=24)
    assert all(count_tokens(text[s:e]) <= 120 for s, e in spans)
    covered = set()
    for s, e in spans:
        covered.update(range(s, e))
    for s, e in sentence_spans(text):
        assert set(range(s, e)) <= covered


def test_consecutive_chunks_share_a_sentence_when_overlap_is_set():
    text = (SEEDS / "001_a59af63640988946.txt").read_text()
    spans = chunk_spans(text, max_tokens=160, overlap=32)
    assert all(b[0] < a[1] for a, b in zip(spans, spans[1:]))
    no_overlap = chunk_spans(text, max_tokens=160, overlap=0)
    assert all(b[0] >= a[1] for a, b in zip(no_overlap, no_overlap[1:]))


def test_a_sentence_longer_than_a_chunk_is_cut_on_words():
    text = " ".join(["word"] * 500) + "."
    spans = chunk_spans(text, max_tokens=50, overlap=0)
    assert len(spans) >= 10
    assert all(count_tokens(text[s:e]) <= 50 for s, e in spans)
    assert all(text[s] != " " and text[e - 1] != " " for s, e in spans)


def test_text_without_spaces_is_cut_by_characters():
    text = "x" * 5000
    spans = chunk_spans(text, max_tokens=40, overlap=0)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(count_tokens(text[s:e]) <= 40 for s, e in spans)


def test_bad_limits_raise():
    with pytest.raises(ValueError):
        chunk_spans("text", max_tokens=10, overlap=10)
