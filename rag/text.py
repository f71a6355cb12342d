"""Text helpers shared by retrieval, the checker and evaluation: normalising answers, the
content words of a text and how many of a claim's content words a passage contains, and
reciprocal rank fusion. Small deterministic functions over plain values, no models, no I/O.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence

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
