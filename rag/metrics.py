"""Pure evaluation metrics: answer matching, retrieval quality, fusion and lexical support.

Everything here is a small deterministic function over plain Python values (strings,
lists, sets, dicts), with no model and no I/O, so results are reproducible and cheap:

* answers: :func:`normalize_answer`, :func:`exact_match`, :func:`f1_score` (SQuAD-official
  definitions) and :func:`answer_matches` (gold answer contained in a longer answer);
* retrieval: :func:`recall_at_k`, :func:`mrr_at_k`, :func:`ndcg_at_k` over ranked ids;
* statistics: :func:`percentile`, :func:`median`;
* fusion: :func:`rrf_fuse` (reciprocal rank fusion);
* grounding: :func:`split_sentences`, :func:`content_words`, :func:`support_score`.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

# --------------------------------------------------------------------------------------
# Answer normalisation and matching
# --------------------------------------------------------------------------------------

# Unicode quotes and hyphen-like dashes become their ASCII forms (and are then removed as
# punctuation, exactly like the ASCII ones); em dashes and bars separate words, so they
# become spaces.
_CHAR_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-",
        "\u00ad": "",
        "\u2014": " ", "\u2015": " ",
    }
)  # fmt: skip

# A thousands separator: a comma, a no-break/thin/narrow no-break space or an apostrophe
# between a digit and a group of exactly three digits ("160,000", "1\u202f000\u202f000").
# A plain space is not one: "in 2019 100 people" must keep its two numbers apart.
_THOUSANDS = re.compile(r"(?<=\d)[,\u00a0\u2009\u202f'\u2019](?=\d{3}(?!\d))")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCT = frozenset(string.punctuation)


def _prepare(text: str) -> str:
    """Unicode-normalise, map quotes/dashes, lowercase and drop thousands separators.

    >>> _prepare("“160,000” — Ünïcode")
    '"160000"   ünïcode'
    """
    text = _THOUSANDS.sub("", text)  # before NFKC, which turns the narrow spaces into " "
    return unicodedata.normalize("NFKC", text).translate(_CHAR_MAP).lower()


def _is_punct(ch: str) -> bool:
    """True for ASCII punctuation/symbols (as in SQuAD) and any Unicode punctuation.

    >>> [_is_punct(c) for c in "a,$¿é"]
    [False, True, True, True, False]
    """
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def normalize_answer(s: str) -> str:
    """Normalise an answer the SQuAD-official way, plus a few Unicode/number fixes.

    Lowercase, remove punctuation, remove the articles a/an/the and collapse whitespace
    (the official SQuAD v1.1/v2.0 evaluation script). In addition: NFKC-normalise, map
    curly quotes and en dashes/hyphens to ASCII (so they are removed like ASCII ones), turn
    em dashes into spaces, remove any Unicode punctuation and delete thousands separators
    inside numbers, so "160,000", "160 000" and "160000" all agree. Accents are kept.

    >>> normalize_answer("The  Quick, brown FOX!")
    'quick brown fox'
    >>> normalize_answer("“160,000” people")
    '160000 people'
    >>> normalize_answer("Paris—an old city")
    'paris old city'
    >>> normalize_answer("")
    ''
    """
    text = "".join(ch for ch in _prepare(s) if not _is_punct(ch))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


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
# Rank fusion
# --------------------------------------------------------------------------------------


def rrf_fuse(
    rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(d) = sum over rankings of ``w / (k + rank(d))``.

    Each ranking is first deduplicated (keeping first occurrences, as in the retrieval
    metrics), then ranked from 1.
    The result is sorted by fused score, highest first; ties keep the order of first
    appearance (the first ranking top to bottom, then the next ranking, ...).

    >>> rrf_fuse([["a", "b"], ["b", "c"]], k=1)
    [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    >>> rrf_fuse([["a", "b"], ["b", "a"]], k=60)[0][0]
    'a'
    >>> rrf_fuse([])
    []
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"got {len(weights)} weights for {len(rankings)} rankings")
    if k < 0:
        raise ValueError(f"k must not be negative, got {k}")
    scores: dict[str, float] = {}  # insertion order = first appearance
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, doc in enumerate(dict.fromkeys(ranking), start=1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
    order = {doc: i for i, doc in enumerate(scores)}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


# --------------------------------------------------------------------------------------
# Sentences and lexical support
# --------------------------------------------------------------------------------------

# Tokens before a period that does not end a sentence (matched case-sensitively).
_ABBREVIATIONS = frozenset({
    "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sen", "Rep", "Gov", "Gen", "Col", "Lt", "Sgt",
    "Capt", "Cmdr", "Adm", "Maj", "Pres", "Rev", "Hon", "St", "Jr", "Sr", "Mt", "Ft", "Ave",
    "Blvd", "Rd", "Inc", "Ltd", "Co", "Corp", "Bros", "Dept", "Univ", "No", "Nos", "Vol", "Fig",
    "Figs", "Eq", "Ch", "Sec", "pp", "vs", "cf", "al", "approx", "ca", "Jan", "Feb", "Mar",
    "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
})  # fmt: skip
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # "U.S" of "U.S.", "e.g" of "e.g."
_INITIAL = re.compile(r"[A-Z]")  # "J" of "J. Smith"
_CLOSERS = "\"'\u201d\u2019)]"
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)")


def _is_abbreviation(text_before_period: str) -> bool:
    """Whether the word just before a period is an abbreviation or an initial.

    >>> [_is_abbreviation(s) for s in ("said Sen", "the U.S", "J", "was done")]
    [True, True, True, False]
    """
    match = re.search(r"[^\s(\[\"'\u201c\u2018]*$", text_before_period)
    word = match.group(0) if match else ""
    return word in _ABBREVIATIONS or bool(_DOTTED.fullmatch(word)) or bool(_INITIAL.fullmatch(word))


def split_sentences(text: str) -> list[str]:
    """Split text into sentences with a regular expression and a few rules.

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (plus closing quotes/brackets) that is
    followed by whitespace and then not by a lowercase letter; a blank line always ends
    one. A period after a known abbreviation ("Sen.", "Dr."), a dotted acronym ("U.S.",
    "e.g.") or a single capital initial does not; neither does one inside a number
    ("3.5"), since no whitespace follows it.

    >>> split_sentences("Sen. Smith visited the U.S. Army base. It cost $3.5 million! Why?")
    ['Sen. Smith visited the U.S. Army base.', 'It cost $3.5 million!', 'Why?']
    >>> split_sentences("  ")
    []
    """
    sentences: list[str] = []
    for block in re.split(r"\n[ \t\r\f\v]*\n", text):
        start = 0
        for match in _SENTENCE_END.finditer(block):
            rest = block[match.end() :].lstrip()
            if rest and rest[0].islower():
                continue
            ends_with_period = match.group(0).rstrip(_CLOSERS) == "."
            if ends_with_period and _is_abbreviation(block[start : match.start()]):
                continue
            sentences.append(block[start : match.end()])
            start = match.end()
        sentences.append(block[start:])
    return [" ".join(s.split()) for s in sentences if s.strip()]


STOPWORDS = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
    "are", "aren", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "cannot", "could", "couldn", "did", "didn", "do", "does",
    "doesn", "doing", "don", "down", "during", "each", "either", "else", "ever", "few", "for",
    "from", "further", "had", "hadn", "has", "hasn", "have", "haven", "having", "he", "her",
    "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if", "in",
    "into", "is", "isn", "it", "its", "itself", "just", "let", "ll", "m", "may", "me", "might",
    "more", "most", "must", "mustn", "my", "myself", "neither", "no", "nor", "not", "now", "o",
    "of", "off", "on", "once", "only", "or", "other", "ought", "our", "ours", "ourselves",
    "out", "over", "own", "re", "s", "same", "shall", "shan", "she", "should", "shouldn", "so",
    "some", "such", "t", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
    "there", "these", "they", "this", "those", "through", "thus", "to", "too", "under", "until",
    "up", "upon", "ve", "very", "was", "wasn", "we", "were", "weren", "what", "when", "where",
    "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within",
    "without", "won", "would", "wouldn", "y", "yet", "you", "your", "yours", "yourself",
    "yourselves",
})  # fmt: skip
"""Small English stopword list ("us" is left out: after lowercasing it is also "U.S.")."""

_TOKEN = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")
_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}")


def _singular(word: str) -> str:
    """Strip a simple English plural ending.

    >>> [_singular(w) for w in ("studies", "classes", "cells", "virus", "analysis", "gas")]
    ['study', 'class', 'cell', 'virus', 'analysis', 'gas']
    """
    if len(word) <= 3 or word[-1].isdigit():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """The lowercased, singularised non-stopword tokens of a text, in order.

    Numbers are kept, without thousands separators and with decimals intact; dotted
    acronyms are joined ("U.S." -> "us").

    >>> content_words("The 2 studies found 160,000 cases in the U.S. (3.5%).")
    ['2', 'study', 'found', '160000', 'case', 'us', '3.5']
    """
    text = _ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    tokens = _TOKEN.findall(_prepare(text))
    return [_singular(t) for t in tokens if t not in STOPWORDS]


def support_score(claim: str, passage: str) -> float:
    """Share of the claim's distinct content words that also occur in the passage, in [0, 1].

    A crude lexical grounding signal: 1.0 means every content word of the claim appears in
    the passage. A claim without content words scores 0.0 (check :func:`content_words`
    first to skip such sentences).

    >>> support_score("Facebook acquired Instagram in 2012.", "In 2012, Facebook bought Instagram.")
    0.75
    >>> support_score("The studies were large.", "One large study.")
    1.0
    >>> support_score("It is.", "anything")
    0.0
    """
    claim_words = set(content_words(claim))
    if not claim_words:
        return 0.0
    passage_words = set(content_words(passage))
    return len(claim_words & passage_words) / len(claim_words)
