"""Evaluation metrics: answer matching (SQuAD-official exact match and F1, and a gold answer
contained in a longer answer), retrieval quality (recall, MRR, nDCG at k) and percentiles.

Small deterministic functions over plain values, with no model and no I/O. Answers are
compared after ``rag.text.normalize_answer``, the normalisation the assistant itself uses.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

from rag.text import normalize_answer

# --------------------------------------------------------------------------------------
# Answer normalisation and matching
# --------------------------------------------------------------------------------------


def _as_list(golds: str | Iterable[str]) -> list[str]:
    """Accept one gold string or several.

    >>> _as_list("x"), _as_list(("a", "b"))
    (['x'], ['a', 'b'])
    """
    return [golds] if isinstance(golds, str) else list(golds)


def _em_single(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _f1_single(prediction: str, gold: str) -> float:
    pred_toks = normalize_answer(prediction).split()
    gold_toks = normalize_answer(gold).split()
    if not pred_toks or not gold_toks:
        return float(pred_toks == gold_toks)
    num_same = sum((Counter(pred_toks) & Counter(gold_toks)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_toks)
    recall = num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: str | Iterable[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold, else 0.0.

    As in the SQuAD 2.0 script, no golds means "unanswerable": the only correct
    prediction is an empty one.

    >>> exact_match("the Eiffel Tower", ["Eiffel Tower", "tower"])
    1.0
    >>> exact_match("Eiffel", ["Eiffel Tower"])
    0.0
    >>> exact_match("", [])
    1.0
    """
    return max(_em_single(prediction, g) for g in (_as_list(golds) or [""]))


def f1_score(prediction: str, golds: str | Iterable[str]) -> float:
    """SQuAD-official token F1 of the prediction, maximised over the golds.

    Tokens are the whitespace-split words of :func:`normalize_answer`; if either side has
    no tokens the score is 1.0 when both are empty and 0.0 otherwise. No golds means
    "unanswerable" (compared with the empty answer).

    >>> f1_score("Eiffel Tower in Paris", ["the Eiffel Tower"])
    0.6666666666666666
    >>> f1_score("Paris", ["London", "paris"])
    1.0
    >>> f1_score("", ["Paris"])
    0.0
    """
    return max(_f1_single(prediction, g) for g in (_as_list(golds) or [""]))


def _contains_phrase(haystack: str, needle: str) -> bool:
    """Word-boundary substring test on normalised strings (empty needles never match).

    >>> _contains_phrase("born in 190 bc", "90"), _contains_phrase("it is 90 km", "90")
    (False, True)
    """
    return bool(needle) and f" {needle} " in f" {haystack} "


def answer_matches(
    answer: str, answers: str | Iterable[str], all_of: str | Iterable[str] | None = None
) -> bool:
    """True if the answer contains one of ``answers`` and every item of ``all_of``.

    Both sides go through :func:`normalize_answer` and containment is on whole words, so
    "90" does not match "190". Golds that normalise to nothing (e.g. "the") never match.
    With no ``answers`` only ``all_of`` counts; with neither, the result is False.

    >>> answer_matches("It was played in Tampa, Florida.", ["Tampa, Florida", "Tampa"])
    True
    >>> answer_matches("The answer is 190.", ["90"])
    False
    >>> answer_matches("Facebook bought it in 2012", ["Facebook"], all_of=["2012"])
    True
    >>> answer_matches("Facebook bought it", [], all_of=["facebook", "2012"])
    False
    """
    norm_answer = normalize_answer(answer)
    golds = _as_list(answers)
    required = _as_list(all_of) if all_of is not None else []
    if not golds and not required:
        return False
    if golds and not any(_contains_phrase(norm_answer, normalize_answer(g)) for g in golds):
        return False
    return all(_contains_phrase(norm_answer, normalize_answer(r)) for r in required)


# --------------------------------------------------------------------------------------
# Retrieval metrics
# --------------------------------------------------------------------------------------

Relevance = Collection[str] | Mapping[str, float]


def _grades(relevant: Relevance) -> dict[str, float]:
    """Relevant ids with a positive grade; a plain collection means grade 1 for each.

    >>> _grades({"a"}), _grades({"a": 2, "b": 0})
    ({'a': 1.0}, {'a': 2.0})
    """
    if isinstance(relevant, Mapping):
        return {doc: float(g) for doc, g in relevant.items() if g > 0}
    return {doc: 1.0 for doc in relevant}


def _top_k(ranked: Iterable[str], k: int) -> list[str]:
    """First ``k`` distinct ids, keeping each id's first occurrence.

    >>> _top_k(["d1", "d1", "d2", "d3"], 2)
    ['d1', 'd2']
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    out: list[str] = []
    seen: set[str] = set()
    for doc in ranked:
        if doc not in seen:
            seen.add(doc)
            out.append(doc)
            if len(out) == k:
                break
    return out


def recall_at_k(ranked: Sequence[str], relevant: Relevance, k: int) -> float:
    """Share of the relevant ids found among the first ``k`` distinct ranked ids.

    No relevant ids gives 0.0. ``relevant`` may be a set or a dict id -> grade (ids with
    grade <= 0 are not relevant).

    >>> recall_at_k(["d3", "d1", "d1", "d2"], {"d1", "d2"}, 2)
    0.5
    >>> recall_at_k(["d3", "d1", "d1", "d2"], {"d1", "d2"}, 3)
    1.0
    >>> recall_at_k(["d1"], set(), 10)
    0.0
    """
    grades = _grades(relevant)
    if not grades:
        return 0.0
    return sum(1 for doc in _top_k(ranked, k) if doc in grades) / len(grades)


def mrr_at_k(ranked: Sequence[str], relevant: Relevance, k: int) -> float:
    """Reciprocal rank of the first relevant id within the first ``k`` distinct ids, else 0.

    >>> mrr_at_k(["d3", "d3", "d1"], {"d1"}, 10)
    0.5
    >>> mrr_at_k(["d3", "d1"], {"d1"}, 1)
    0.0
    """
    grades = _grades(relevant)
    for rank, doc in enumerate(_top_k(ranked, k), start=1):
        if doc in grades:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Relevance, k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` (as trec_eval's ``ndcg_cut``).

    Gain is the grade (1 for each id of a set), discounted by ``log2(rank + 1)``; the ideal
    ranking puts the ``k`` highest grades first. Duplicate ids count once (first
    occurrence). No relevant ids gives 0.0.

    >>> ndcg_at_k(["d1", "d2"], {"d1"}, 10)
    1.0
    >>> round(ndcg_at_k(["d2", "d1"], {"d1"}, 10), 4)
    0.6309
    >>> round(ndcg_at_k(["d2", "d1"], {"d1": 1, "d2": 2}, 2), 4)
    1.0
    >>> round(ndcg_at_k(["d1", "d2"], {"d1": 1, "d2": 2}, 2), 4)
    0.8597
    """
    grades = _grades(relevant)
    if not grades:
        return 0.0
    dcg = sum(
        grades.get(doc, 0.0) / math.log2(rank + 1)
        for rank, doc in enumerate(_top_k(ranked, k), start=1)
    )
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / idcg


# --------------------------------------------------------------------------------------
# Simple statistics
# --------------------------------------------------------------------------------------


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0-100) with linear interpolation, like ``numpy.percentile``.

    An empty input gives 0.0.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    >>> percentile([10, 1, 5], 90)
    9.0
    >>> percentile([], 95)
    0.0
    """
    if not 0 <= p <= 100:
        raise ValueError(f"p must be between 0 and 100, got {p}")
    data = sorted(float(v) for v in values)
    if not data:
        return 0.0
    rank = (len(data) - 1) * p / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)


def median(values: Iterable[float]) -> float:
    """The median (50th percentile); an empty input gives 0.0.

    >>> median([3, 1, 2]), median([4, 1, 3, 2]), median([])
    (2.0, 2.5, 0.0)
    """
    return percentile(values, 50)


# --------------------------------------------------------------------------------------
