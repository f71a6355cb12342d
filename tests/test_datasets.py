"""Tests for rag_eval.datasets on the real files in ../shared/datasets, plus error cases."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from rag.errors import InputError
from rag_eval.datasets import (
    DEFAULT_DIR,
    RgbItem,
    SquadItem,
    load_rgb,
    load_scifact,
    load_squad2,
    parse_sentence_list,
    squad_articles,
    squad_paragraphs,
)

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
SQUAD = DATA / "squad2-dev-half.json"
RGB = DATA / "rgb-en-fact.jsonl"


def test_default_dir_is_shared_datasets() -> None:
    assert DEFAULT_DIR == DATA


# ------------------------------------------------------------------ SciFact


@pytest.fixture(scope="module")
def scifact() -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    return load_scifact(DATA)


def test_scifact_counts(scifact) -> None:
    corpus, queries, qrels = scifact
    assert len(corpus) == 5183
    assert len(queries) == 300
    assert len(qrels) == 300
    assert sum(len(docs) for docs in qrels.values()) == 339
    # The README says 282; the file has 283 distinct doc ids (all in the corpus).
    assert len({doc for docs in qrels.values() for doc in docs}) == 283


def test_scifact_consistency(scifact) -> None:
    corpus, queries, qrels = scifact
    assert set(queries) == set(qrels)
    assert all(doc in corpus for docs in qrels.values() for doc in docs)
    assert all(grade == 1 for docs in qrels.values() for grade in docs.values())
    assert all(text.strip() for text in corpus.values())


def test_scifact_known_entries(scifact) -> None:
    corpus, queries, qrels = scifact
    assert queries["1"] == "0-dimensional biomaterials show inductive properties."
    assert qrels["1"] == {"31715818": 1}
    assert qrels["3"] == {"14717500": 1}
    title, abstract = corpus["4983"].split("\n", 1)
    assert title == (
        "Microstructural development of human newborn cerebral white matter assessed "
        "in vivo by diffusion tensor magnetic resonance imaging."
    )
    # sentences are joined with a space, not glued together
    assert abstract.startswith(
        "Alterations of the architecture of cerebral white matter in the developing human "
        "brain can affect cortical development and result in functional disabilities. "
        "A line scan diffusion-weighted"
    )
    assert "['" not in corpus["4983"] and "'\n" not in corpus["4983"]


def test_scifact_corpus_size_in_words(scifact) -> None:
    corpus, _, _ = scifact
    words = sum(len(text.split()) for text in corpus.values())
    assert 1_050_000 < words < 1_200_000  # README: about 1.1 M words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("['One.'\n 'Two.']", ["One.", "Two."]),
        ("['a', 'b']", ["a", "b"]),
        ("[\"It's here.\" 'Next.']", ["It's here.", "Next."]),
        ("['  padded \\n']", ["padded"]),
        ("['']", []),
        ("[]", []),
        ("['caf\u00e9 \u03b1-helix']", ["caf\u00e9 \u03b1-helix"]),
    ],
)
def test_parse_sentence_list(text: str, expected: list[str]) -> None:
    assert parse_sentence_list(text) == expected


@pytest.mark.parametrize(
    "text", ["", "not a list", "['a'", "[1, 2]", "[__import__('os')]", "[b'x']", "('a',)"]
)
def test_parse_sentence_list_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_sentence_list(text)


@pytest.mark.parametrize(
    ("missing", "others"),
    [
        ("scifact-corpus.zip", ["scifact-queries.jsonl", "scifact-qrels-test.tsv"]),
        ("scifact-qrels-test.tsv", ["scifact-corpus.zip", "scifact-queries.jsonl"]),
        ("scifact-queries.jsonl", ["scifact-corpus.zip", "scifact-qrels-test.tsv"]),
    ],
)
def test_scifact_missing_file(tmp_path: Path, missing: str, others: list[str]) -> None:
    for name in others:
        (tmp_path / name).symlink_to(DATA / name)
    with pytest.raises(InputError) as info:
        load_scifact(tmp_path)
    message = str(info.value)
    assert missing in message
    assert str(tmp_path) in message
    assert "\n" not in message


def test_scifact_small_synthetic(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "scifact-corpus.zip", "w") as zf:
        zf.writestr(
            "corpus_train.csv",
            "doc_id,title,abstract,structured\n"
            "10,T\u00eftle,\"['First.'\n 'Second.']\",False\n"
            "11,,\"['Only.']\",False\n",
        )
    (tmp_path / "scifact-queries.jsonl").write_text(
        '{"_id": "1", "text": "q one"}\n{"_id": "2", "text": "q two"}\n', encoding="utf-8"
    )
    (tmp_path / "scifact-qrels-test.tsv").write_text("2\t 0 11\t1\n2\t 0 10\t0\n")
    corpus, queries, qrels = load_scifact(tmp_path)
    assert corpus == {"10": "T\u00eftle\nFirst. Second.", "11": "Only."}
    assert queries == {"2": "q two"}
    assert qrels == {"2": {"11": 1}}


def test_scifact_qrels_with_unknown_doc(tmp_path: Path) -> None:
    for name in ("scifact-corpus.zip", "scifact-queries.jsonl"):
        (tmp_path / name).symlink_to(DATA / name)
    (tmp_path / "scifact-qrels-test.tsv").write_text("query-id\tcorpus-id\tscore\n1\tnope\t1\n")
    with pytest.raises(InputError, match="nope"):
        load_scifact(tmp_path)


def test_scifact_bad_zip(tmp_path: Path) -> None:
    for name in ("scifact-queries.jsonl", "scifact-qrels-test.tsv"):
        (tmp_path / name).symlink_to(DATA / name)
    (tmp_path / "scifact-corpus.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a valid zip"):
        load_scifact(tmp_path)


# ------------------------------------------------------------------ SQuAD 2.0


def test_squad_paragraphs() -> None:
    paragraphs = squad_paragraphs(SQUAD)
    assert len(paragraphs) == 646
    ids = [pid for pid, _ in paragraphs]
    assert len(set(ids)) == 646
    assert ids[0] == "Normans-0"
    assert ids[-1].startswith("Force-")
    assert paragraphs[0][1].startswith("The Normans (Norman: Nourmands")
    assert squad_paragraphs(DATA) == paragraphs  # a directory works too


def test_squad_full_counts() -> None:
    items = load_squad2(SQUAD, n_answerable=None, n_unanswerable=None)
    assert len(items) == 6078
    assert sum(not item.answerable for item in items) == 3168
    assert sum(item.answerable for item in items) == 2910
    assert len({item.id for item in items}) == 6078
    assert all(item.answers for item in items if item.answerable)
    assert all(item.answers == [] for item in items if not item.answerable)
    paragraph_ids = {pid for pid, _ in squad_paragraphs(SQUAD)}
    assert all(item.paragraph_id in paragraph_ids for item in items)


def test_squad_first_question() -> None:
    first = load_squad2(SQUAD, n_answerable=None, n_unanswerable=0)[0]
    assert first == SquadItem(
        id="68cf05f67fd29c6f129fe2fb9",
        question="In what country is Normandy located?",
        answers=["France"],  # four identical golds, deduplicated
        answerable=True,
        context=first.context,
        title="Normans",
        paragraph_id="Normans-0",
        starts=(159,),
    )
    assert first.context[159 : 159 + len("France")] == "France"


def test_each_squad_article_is_one_document_with_every_gold_answer_at_its_offset() -> None:
    articles = squad_articles(SQUAD)
    assert len(articles) == 16
    for item in load_squad2(SQUAD, n_answerable=None, n_unanswerable=0):
        text, offsets = articles[item.title]
        at = offsets[int(item.paragraph_id.rsplit("-", 1)[1])]
        assert all(text[at + s : at + s + len(a)] == a for a, s in zip(item.answers, item.starts))


def test_squad_sample_default() -> None:
    items = load_squad2(SQUAD)
    assert len(items) == 400
    assert [item.answerable for item in items] == [True] * 200 + [False] * 200
    assert len({item.id for item in items}) == 400
    assert items == load_squad2(SQUAD)  # deterministic
    assert items != load_squad2(SQUAD, seed=1)


def test_squad_halves_are_independent() -> None:
    a = load_squad2(SQUAD, n_answerable=50, n_unanswerable=20)
    b = load_squad2(SQUAD, n_answerable=10, n_unanswerable=20)
    assert [i.id for i in a if not i.answerable] == [i.id for i in b if not i.answerable]


def test_squad_sample_keeps_file_order() -> None:
    order = {item.id: n for n, item in enumerate(load_squad2(SQUAD, None, None))}
    items = load_squad2(SQUAD, n_answerable=30, n_unanswerable=30, seed=7)
    for half in (items[:30], items[30:]):
        positions = [order[item.id] for item in half]
        assert positions == sorted(positions)


@pytest.mark.parametrize(("n_a", "n_u"), [(0, 0), (0, 5), (5, 0)])
def test_squad_small_samples(n_a: int, n_u: int) -> None:
    items = load_squad2(SQUAD, n_answerable=n_a, n_unanswerable=n_u)
    assert sum(i.answerable for i in items) == n_a
    assert sum(not i.answerable for i in items) == n_u


@pytest.mark.parametrize(("n_a", "n_u"), [(2911, 0), (0, 3169), (-1, 0)])
def test_squad_sample_too_large(n_a: int, n_u: int) -> None:
    with pytest.raises(ValueError):
        load_squad2(SQUAD, n_answerable=n_a, n_unanswerable=n_u)


def test_squad_missing_file(tmp_path: Path) -> None:
    for call in (lambda: load_squad2(tmp_path), lambda: squad_paragraphs(tmp_path / "x.json")):
        with pytest.raises(InputError) as info:
            call()
        message = str(info.value)
        assert str(tmp_path) in message and "\n" not in message
    with pytest.raises(InputError, match="squad2-dev-half.json"):
        load_squad2(tmp_path)


def test_squad_bad_json(tmp_path: Path) -> None:
    bad = tmp_path / "squad2-dev-half.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a SQuAD 2.0 JSON file"):
        load_squad2(bad)


# ------------------------------------------------------------------ RGB


@pytest.fixture(scope="module")
def rgb() -> list[RgbItem]:
    return load_rgb(RGB)


def test_rgb_counts(rgb: list[RgbItem]) -> None:
    assert len(rgb) == 100
    assert [item.id for item in rgb] == [str(i) for i in range(100)]
    assert sum(len(item.positive) for item in rgb) == sum(len(i.positive_wrong) for i in rgb)
    assert all(item.answer and item.fake_answer for item in rgb)
    assert all(isinstance(a, str) for item in rgb for a in item.answer + item.fake_answer)
    assert sum(len(i.positive) + len(i.positive_wrong) + len(i.negative) for i in rgb) == 1384


def test_rgb_first_item(rgb: list[RgbItem]) -> None:
    first = rgb[0]
    assert first.query == "Super Bowl 2021 location"
    assert first.answer == ["Tampa, Florida"]
    assert first.fake_answer == ["Glendale, Arizona"]
    assert (len(first.positive), len(first.positive_wrong), len(first.negative)) == (3, 3, 7)
    assert "Tampa, Florida" in first.positive[0]
    assert "Glendale, Arizona" in first.positive_wrong[0]


def test_rgb_nested_answers_are_flattened(rgb: list[RgbItem]) -> None:
    splatoon = rgb[15]
    assert splatoon.query == "When was Splatoon 2 released?"
    assert splatoon.answer == [
        "July 21 2017", "Jul 21, 2017", "Jul. 21, 2017", "July 21, 2017",
        "21 July 2017", "21 Jul, 2017", "21 Jul., 2017", "21 July, 2017",
    ]  # fmt: skip
    assert splatoon.fake_answer == ["July 1, 2007"]


def test_rgb_directory_path() -> None:
    assert load_rgb(DATA) == load_rgb(RGB)


def test_rgb_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_rgb(tmp_path)
    message = str(info.value)
    assert "rgb-en-fact.jsonl" in message
    assert str(tmp_path) in message
    assert "\n" not in message


def test_rgb_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "rgb.jsonl"
    path.write_text(json.dumps({"id": 1, "query": "q"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="answer"):
        load_rgb(path)
    path.write_text("{broken\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1"):
        load_rgb(path)
