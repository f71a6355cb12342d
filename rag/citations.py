"""Turn a model's raw reply into a checked answer: citations parsed, verified, mapped to files.

Small models cite the wrong passage, forget to cite, or state things no passage says. So
every sentence of the reply is checked against the passage it cites (lexical support, and
every number in the sentence must appear in the passage). A sentence whose citation does
not support it is re-pointed at the passage that does; a sentence no passage supports is
dropped. If nothing supported is left the answer becomes an abstention. Citations returned
are only passages actually cited by a surviving sentence, with the supporting sentence of
the passage as ``quote`` for highlighting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .chunking import sentence_spans
from .metrics import normalize_answer, support_score
from .prompting import NOT_FOUND
from .records import Citation, Hit

SUPPORT_THRESHOLD = 0.5
MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_ABSTAIN = re.compile(
    r"not found|(?:do(?:es)?n[o’']t|do(?:es)? not|cannot|can't|can not) (?:contain|mention|say|"
    r"provide|specify|state|answer|find|include)|no (?:information|mention|answer)|"
    r"not (?:mentioned|provided|specified|stated|given|available|included)",
    re.I,
)


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    abstained: bool
    dropped: list[str]  # sentences removed as unsupported


def markers(text: str) -> list[int]:
    """Passage numbers cited in ``text``, in order of first appearance.

    >>> markers("It lasted 90 minutes [2]. Both met [1, 2][3].")
    [2, 1, 3]
    """
    seen: list[int] = []
    for m in MARKER.finditer(text):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            if int(n) not in seen:
                seen.append(int(n))
    return seen


def strip_markers(text: str) -> str:
    """``text`` without citation markers.

    >>> strip_markers("About 90 minutes [1][2].")
    'About 90 minutes.'
    """
    return MARKER.sub("", text).strip()


def says_not_found(reply: str) -> bool:
    """Whether the reply declines to answer.

    >>> says_not_found("NOT FOUND"), says_not_found("The passages do not mention it."), says_not_found("90 minutes [1]")
    (True, True, False)
    """
    return bool(_ABSTAIN.search(reply)) or not strip_markers(reply).strip(" .")


def numbers_supported(claim: str, passage: str) -> bool:
    """Every number in the claim appears in the passage (thousands separators ignored).

    >>> numbers_supported("about 90 minutes", "lasted around 90 minutes"), numbers_supported("190,000 troops", "100,000 troops")
    (True, False)
    """
    have = {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(passage)}
    return all(n.replace(",", "").rstrip(".") in have for n in _NUMBER.findall(claim))


def supports(claim: str, passage: str) -> float:
    """How well ``passage`` supports ``claim`` (0 when a number of the claim is missing)."""
    if not numbers_supported(claim, passage):
        return 0.0
    return support_score(claim, passage)


def best_quote(claim: str, passage: str) -> str:
    """The sentence of ``passage`` that best supports ``claim``."""
    sentences = [passage[s:e] for s, e in sentence_spans(passage)]
    return max(sentences, key=lambda s: supports(claim, s), default="")


def check(reply: str, passages: Sequence[Hit], threshold: float = SUPPORT_THRESHOLD) -> Checked:
    """Verify ``reply`` against the numbered ``passages`` (1-based, as in the prompt)."""
    if says_not_found(reply) and not _has_supported_claim(reply, passages, threshold):
        return Checked("", [], True, [])
    kept: list[str] = []
    dropped: list[str] = []
    quotes: dict[int, str] = {}
    text = reply.replace(NOT_FOUND, "")
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        claim = strip_markers(sentence)
        if not normalize_answer(claim):
            continue
        cited = [n for n in markers(sentence) if 1 <= n <= len(passages)]
        good = [n for n in cited if supports(claim, passages[n - 1].text) >= threshold]
        if not good:
            scores = [supports(claim, p.text) for p in passages]
            best = max(range(len(scores)), key=scores.__getitem__, default=-1)
            if best < 0 or scores[best] < threshold:
                dropped.append(claim)
                continue
            good = [best + 1]
        for n in good:
            quotes.setdefault(n, best_quote(claim, passages[n - 1].text))
        body = claim.rstrip()
        end = body[-1] if body and body[-1] in ".!?" else "."
        kept.append(body.rstrip(".!?") + "".join(f" [{n}]" for n in good) + end)
    if not kept:
        return Checked("", [], True, dropped)
    citations = [
        Citation(n, h.source, h.chunk_id, h.start, h.end, h.text, h.title, h.date, quotes[n])
        for n, h in enumerate(passages, 1)
        if n in quotes
    ]
    return Checked(" ".join(kept), citations, False, dropped)


def _has_supported_claim(reply: str, passages: Sequence[Hit], threshold: float) -> bool:
    """A reply that says "not found" may still carry a cited, supported fact before it."""
    claim = strip_markers(_ABSTAIN.split(reply.replace(NOT_FOUND, ""))[0])
    if len(normalize_answer(claim).split()) < 3:
        return False
    return any(supports(claim, p.text) >= threshold for p in passages)
