"""Tests for rag_eval.metrics and rag.text: exact values, edge cases (empty, unicode, duplicates)."""

from __future__ import annotations

import math

import pytest

from rag.text import STOPWORDS, content_words, normalize_answer, rrf_fuse, support_score
from rag_eval.metrics import (
    answer_matches,
    exact_match,
    f1_score,
    median,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
)

# ------------------------------------------------------------------ normalize_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("The Cat", "cat"),
        ("a an the", ""),
        ("Theatre another", "theatre another"),  # articles only as whole words
        ("  Hello,   World!  ", "hello world"),
        ("state-of-the-art", "stateoftheart"),  # SQuAD: punctuation removed, no space
        ("160,000", "160000"),
        ("1,234,567 people", "1234567 people"),
        ("160\u202f000", "160000"),  # narrow no-break space as thousands separator
        ("1, 2, 3", "1 2 3"),  # a comma before a space is not a separator
        ("in 2019 100 people", "in 2019 100 people"),  # a plain space is not one either
        ("1\u2019000 CHF", "1000 chf"),
        ("12,34", "1234"),  # SQuAD removes the comma anyway
        ("3.5", "35"),
        ("\u201cQuoted\u201d \u2018text\u2019", "quoted text"),
        ("1914\u20131918", "19141918"),  # en dash behaves like a hyphen
        ("Paris\u2014the capital", "paris capital"),  # em dash separates words
        ("\u00bfQu\u00e9 pas\u00f3?", "qu\u00e9 pas\u00f3"),  # accents kept, Unicode punct gone
        ("\uff21\uff22\uff23", "abc"),  # full-width letters (NFKC)
        ("$90", "90"),
        ("Tab\tand\nnewline", "tab and newline"),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


# ------------------------------------------------------------------ exact match / F1


@pytest.mark.parametrize(
    ("prediction", "golds", "expected"),
    [
        ("The Eiffel Tower", ["Eiffel Tower"], 1.0),
        ("Eiffel tower.", "eiffel Tower", 1.0),
        ("Eiffel", ["Eiffel Tower"], 0.0),
        ("Paris", ["London", "paris"], 1.0),
        ("", [], 1.0),  # unanswerable and abstained
        ("Paris", [], 0.0),
        ("", ["Paris"], 0.0),
        ("160,000", ["160000"], 1.0),
        ("\u201cNorway\u201d", ["Norway"], 1.0),
    ],
)
def test_exact_match(prediction: str, golds: list[str] | str, expected: float) -> None:
    assert exact_match(prediction, golds) == expected


@pytest.mark.parametrize(
    ("prediction", "golds", "expected"),
    [
        ("Eiffel Tower in Paris", ["the Eiffel Tower"], 2 / 3),
        ("Paris", ["London", "Paris France"], 2 / 3),
        ("tower eiffel", ["Eiffel Tower"], 1.0),
        ("a b c", ["x y z"], 0.0),
        ("the", ["a"], 1.0),  # both normalise to nothing
        ("", ["Paris"], 0.0),
        ("Paris", [], 0.0),
        ("", [], 1.0),
        ("cat cat", ["cat"], 2 / 3),  # precision 1/2, recall 1
    ],
)
def test_f1_score(prediction: str, golds: list[str], expected: float) -> None:
    assert f1_score(prediction, golds) == pytest.approx(expected)


def test_f1_is_max_over_golds() -> None:
    assert f1_score("New York City", ["York", "New York City", "NYC"]) == 1.0


# ------------------------------------------------------------------ answer_matches


@pytest.mark.parametrize(
    ("answer", "answers", "all_of", "expected"),
    [
        ("It was in Tampa, Florida.", ["Tampa, Florida"], None, True),
        ("It was in Tampa, Florida.", ["tampa florida"], None, True),
        ("The answer is 190.", ["90"], None, False),
        ("The answer is 90.", ["90"], None, True),
        ("About 160,000 people", ["160000"], None, True),
        ("About 160000 people", ["160,000"], None, True),
        ("He won in 2019", ["2019", "nineteen"], None, True),
        ("Facebook bought it in 2012", ["Facebook"], ["2012"], True),
        ("Facebook bought it", ["Facebook"], ["2012"], False),
        ("Apple bought it in 2012", ["Facebook"], ["2012"], False),
        ("facebook in 2012", [], ["Facebook", "2012"], True),
        ("facebook", [], ["Facebook", "2012"], False),
        ("anything", [], None, False),
        ("anything", [], [], False),
        ("the", ["the"], None, False),  # gold normalises to nothing
        ("", ["Paris"], None, False),
        ("Released on Jul. 21, 2017", ["July 21 2017", "Jul. 21, 2017"], None, True),
        ("\u201cSimona Halep\u201d won", "Simona Halep", None, True),
        ("Zürich is big", ["zürich"], None, True),
        ("Zurich is big", ["zürich"], None, False),
    ],
)
def test_answer_matches(
    answer: str, answers: list[str] | str, all_of: list[str] | None, expected: bool
) -> None:
    assert answer_matches(answer, answers, all_of) is expected


# ------------------------------------------------------------------ retrieval metrics


@pytest.mark.parametrize(
    ("ranked", "relevant", "k", "expected"),
    [
        (["d1", "d2", "d3"], {"d1", "d3"}, 1, 0.5),
        (["d1", "d2", "d3"], {"d1", "d3"}, 3, 1.0),
        (["d1", "d1", "d1", "d3"], {"d1", "d3"}, 2, 1.0),  # duplicates count once
        (["d1", "d2"], {"d1", "d3"}, 10, 0.5),
        ([], {"d1"}, 5, 0.0),
        (["d1"], set(), 5, 0.0),
        (["d1", "d2"], {"d1": 2, "d2": 0}, 1, 1.0),  # grade 0 is not relevant
        (["\u00e9t\u00e9", "x"], {"\u00e9t\u00e9"}, 1, 1.0),
    ],
)
def test_recall_at_k(ranked: list[str], relevant, k: int, expected: float) -> None:
    assert recall_at_k(ranked, relevant, k) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ranked", "relevant", "k", "expected"),
    [
        (["d1", "d2"], {"d1"}, 10, 1.0),
        (["d2", "d1"], {"d1"}, 10, 0.5),
        (["d2", "d2", "d2", "d1"], {"d1"}, 10, 0.5),
        (["d2", "d3", "d1"], {"d1"}, 2, 0.0),
        (["d2", "d3", "d1"], {"d1", "d3"}, 10, 0.5),
        ([], {"d1"}, 10, 0.0),
        (["d1"], set(), 10, 0.0),
        (["d1"], {"d1": 0}, 10, 0.0),
    ],
)
def test_mrr_at_k(ranked: list[str], relevant, k: int, expected: float) -> None:
    assert mrr_at_k(ranked, relevant, k) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ranked", "relevant", "k", "expected"),
    [
        (["d1", "d2"], {"d1"}, 10, 1.0),
        (["d2", "d1"], {"d1"}, 10, 1 / math.log2(3)),
        (["d2", "d2", "d1"], {"d1"}, 10, 1 / math.log2(3)),  # duplicate d2 counts once
        (["d2", "d1"], {"d1"}, 1, 0.0),
        (["d3", "d1", "d2"], {"d1", "d2"}, 3, (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))),
        # graded: ideal order is d2 (2) then d1 (1)
        (["d1", "d2"], {"d1": 1, "d2": 2}, 2, (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))),
        (["d2", "d1"], {"d1": 1, "d2": 2}, 2, 1.0),
        # ideal is cut at k: only one relevant slot at k=1
        (["d1"], {"d1", "d2", "d3"}, 1, 1.0),
        ([], {"d1"}, 10, 0.0),
        (["d1"], set(), 10, 0.0),
        (["d1"], {}, 10, 0.0),
    ],
)
def test_ndcg_at_k(ranked: list[str], relevant, k: int, expected: float) -> None:
    assert ndcg_at_k(ranked, relevant, k) == pytest.approx(expected)


def test_ndcg_accepts_dict_and_set_alike() -> None:
    ranked = ["a", "b", "c", "d"]
    assert ndcg_at_k(ranked, {"b", "d"}, 4) == ndcg_at_k(ranked, {"b": 1, "d": 1}, 4)


@pytest.mark.parametrize("metric", [recall_at_k, mrr_at_k, ndcg_at_k])
@pytest.mark.parametrize("k", [0, -1])
def test_retrieval_metrics_reject_bad_k(metric, k: int) -> None:
    with pytest.raises(ValueError):
        metric(["d1"], {"d1"}, k)


# ------------------------------------------------------------------ percentile / median


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, 0.0),
        ([7], 0, 7.0),
        ([7], 100, 7.0),
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4], 0, 1.0),
        ([1, 2, 3, 4], 100, 4.0),
        ([10, 1, 5], 90, 9.0),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95, 9.55),
        ([2.5, 2.5, 2.5], 33, 2.5),
    ],
)
def test_percentile(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_percentile_matches_numpy() -> None:
    np = pytest.importorskip("numpy")
    values = [0.3, 12.0, 5.5, 5.5, -1.0, 100.0, 7.25]
    for p in (0, 1, 10, 25, 33.3, 50, 75, 90, 95, 99, 100):
        assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))


@pytest.mark.parametrize("p", [-0.1, 100.1])
def test_percentile_rejects_out_of_range(p: float) -> None:
    with pytest.raises(ValueError):
        percentile([1, 2], p)


def test_percentile_accepts_generators() -> None:
    assert percentile((x for x in [3, 1, 2]), 50) == 2.0


@pytest.mark.parametrize(
    ("values", "expected"), [([], 0.0), ([5], 5.0), ([3, 1, 2], 2.0), ([4, 1, 3, 2], 2.5)]
)
def test_median(values: list[float], expected: float) -> None:
    assert median(values) == expected


# ------------------------------------------------------------------ rrf_fuse


def test_rrf_fuse_scores_and_order() -> None:
    fused = rrf_fuse([["a", "b", "c"], ["c", "a"]], k=60)
    assert [doc for doc, _ in fused] == ["a", "c", "b"]
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)


def test_rrf_fuse_ties_by_first_appearance() -> None:
    assert [d for d, _ in rrf_fuse([["a", "b"], ["b", "a"]])] == ["a", "b"]
    assert [d for d, _ in rrf_fuse([["x"], ["y"], ["z"]])] == ["x", "y", "z"]


def test_rrf_fuse_weights() -> None:
    fused = rrf_fuse([["a"], ["b"]], k=0, weights=[1.0, 3.0])
    assert fused == [("b", 3.0), ("a", 1.0)]


def test_rrf_fuse_duplicates_within_a_ranking_count_once() -> None:
    assert rrf_fuse([["a", "a", "b"]], k=0) == [("a", 1.0), ("b", 0.5)]


@pytest.mark.parametrize("rankings", [[], [[]], [[], []]])
def test_rrf_fuse_empty(rankings: list[list[str]]) -> None:
    assert rrf_fuse(rankings) == []


def test_rrf_fuse_rejects_wrong_number_of_weights() -> None:
    with pytest.raises(ValueError):
        rrf_fuse([["a"], ["b"]], weights=[1.0])


# ------------------------------------------------------------------ content words / support


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("the of and", []),
        ("The 2 studies found 160,000 cases", ["2", "study", "found", "160000", "case"]),
        ("Growth of 3.5% in the U.S.", ["growth", "3.5", "us"]),
        ("Women's classes", ["women", "class"]),
        ("Caf\u00e9s in Z\u00fcrich", ["caf\u00e9", "z\u00fcrich"]),
        ("COVID-19 virus analysis", ["covid", "19", "virus", "analysis"]),
    ],
)
def test_content_words(text: str, expected: list[str]) -> None:
    assert content_words(text) == expected


def test_stopwords_are_lowercase_and_keep_us() -> None:
    assert all(w == w.lower() for w in STOPWORDS)
    assert "us" not in STOPWORDS
    assert {"the", "and", "of", "is"} <= STOPWORDS


@pytest.mark.parametrize(
    ("claim", "passage", "expected"),
    [
        ("Facebook acquired Instagram in 2012.", "In 2012, Facebook bought Instagram.", 0.75),
        ("Facebook acquired Instagram.", "Facebook acquired Instagram for $1 billion.", 1.0),
        ("The studies were large.", "One large study.", 1.0),  # plural stripping
        ("About 160,000 people attended.", "Some 160000 people attended", 1.0),
        ("It grew 3.5 percent.", "It grew 35 percent.", 2 / 3),  # decimals kept intact
        ("Apple bought WhatsApp.", "Facebook acquired Instagram.", 0.0),
        ("It is.", "It is.", 0.0),  # no content words
        ("", "anything", 0.0),
        ("Something here", "", 0.0),
        ("Z\u00fcrich \u201cbanks\u201d", "A bank in Z\u00fcrich", 1.0),
        ("Norway Norway Norway medals", "Norway", 0.5),  # distinct words
    ],
)
def test_support_score(claim: str, passage: str, expected: float) -> None:
    assert support_score(claim, passage) == pytest.approx(expected)


def test_support_score_is_in_unit_interval() -> None:
    score = support_score("Tampa, Florida hosted Super Bowl LV in 2021.", "Super Bowl LV in Tampa")
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(4 / 7)
