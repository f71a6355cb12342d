"""Say so when sources disagree on a figure, whatever the model chose to say.

Asked "how many troops has Russia massed?", a small model gives one source's number and
stops, though another article it was shown gives a different one. After the answer is
checked, every figure it states ("160,000 troops") is compared with the figures for the same
thing (the same counted word, "troops") in passages from *other* documents: those the model
was shown, and those a search for the answer itself finds. A sentence that gives a different
figure and says much the same thing (mean embedding similarity to the question and the
answer at least ``MIN_SIMILARITY``) is added to the answer as a quotation with its own
citation, so the disagreement is visible and each side is cited. Changes ("7,000 more
troops") are not totals and never count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .chunking import sentence_spans
from .citations import cite
from .records import Citation, Hit
from .text import content_words

# A number, a range of numbers, then up to three words, the last of which is the unit.
_FIGURE = re.compile(
    r"(?<![\w.,-])(?P<nums>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?P<more>(?:\s*(?:-|–|to|and|or)\s*(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?))?)"
    r"(?P<mult>\s+(?:thousand|million|billion))?"
    r"(?P<words>(?:\s+[A-Za-z][\w’'-]*){1,3})"
)
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?")
MAX_NOTES = 2
_CLOSING = '."”’ '
MIN_SIMILARITY = 0.52  # mean of the similarities to the question and to the answer (RAG_NOTE_CONFLICTS=0 turns notes off)
_CHANGE = {"more", "additional", "extra", "fewer", "less", "new", "another"}


def figures(text: str) -> dict[str, set[str]]:
    """What ``text`` counts -> the numbers it gives for it. The thing counted is the first
    word after the number that is neither capitalised nor a stopword ("160,000 Russian
    troops" -> "troop"), singular; a number followed by a stopword or a name ("in 2022 the",
    "21 January") counts nothing, and a change ("7,000 more troops") is not a total.

    >>> sorted(figures("Russia has 160,000 to 190,000 Russian troops, 30,000 soldiers in Belarus.")["troop"])
    ['160000', '190000']
    >>> figures("The meeting lasted 90 minutes on 21 January, in 2022 the talks ended.")
    {'minute': {'90'}}
    >>> figures("Moscow has added 7,000 more troops."), figures("The file holds 3 pages.")
    ({}, {'page': {'3'}})
    """
    found: dict[str, set[str]] = {}
    for m in _FIGURE.finditer(text):
        words = m.group("words").split()
        if _CHANGE & {w.lower() for w in words}:
            continue
        unit = next((w for w in words if not w[0].isupper()), "")
        counted = content_words(unit)
        if counted:
            nums = _NUMBER.findall(m.group("nums") + m.group("more"))
            found.setdefault(counted[0], set()).update(n.replace(",", "") for n in nums)
    return found


Similarity = Callable[[str, Sequence[str]], Sequence[float]]


def differing_figures(
    answer: str,
    cited: Sequence[str],
    passages: Sequence[Hit],
    texts: Sequence[str],
    similarity: Similarity | None = None,
) -> list[tuple[int, str]]:
    """``(passage number, sentence)`` for sentences of ``texts`` whose article is not among
    the ``cited`` sources and that give another figure for a unit the answer counts (and,
    with ``similarity``, are about the same thing as the answer).

    >>> a = Hit("a.txt", "a1", 1.0, "About 100,000 troops are there.", 0, 30)
    >>> b = Hit("b.txt", "b1", 0.9, "Some 190,000 troops are near Ukraine.", 0, 38)
    >>> differing_figures("There are 100,000 troops [1].", ["a.txt"], [a, b], [a.text, b.text])
    [(2, 'Some 190,000 troops are near Ukraine.')]
    """
    stated = figures(answer)
    if not stated:
        return []
    out: list[tuple[int, str]] = []
    seen = {n for nums in stated.values() for n in nums}
    for n, (hit, text) in enumerate(zip(passages, texts), 1):
        if hit.source in cited:
            continue
        for s, e in sentence_spans(text):
            sentence = text[s:e].strip().removeprefix("...").strip()
            for unit, nums in figures(sentence).items():
                if (
                    unit in stated
                    and not nums & seen
                    and (similarity is None or similarity(answer, [sentence])[0] >= MIN_SIMILARITY)
                ):
                    out.append((n, sentence))
                    seen |= nums
                    break
            if len(out) >= MAX_NOTES:
                return out
    return out


_NOTE = re.compile(
    r'^(?:A report dated \S+|Another report) gives a different figure: "(.*)"\W*$', re.S
)


def quoted_figure(sentence: str) -> str:
    """The quotation inside a note on a differing figure; any other sentence unchanged.

    >>> quoted_figure('A report dated 2022-01-18 gives a different figure: "Some 100,000 troops".')
    'Some 100,000 troops'
    >>> quoted_figure("It lasted 90 minutes.")
    'It lasted 90 minutes.'
    """
    m = _NOTE.match(sentence.strip())
    return m.group(1) if m else sentence


def note_differences(
    answer: str,
    citations: list[Citation],
    passages: Sequence[Hit],
    texts: Sequence[str],
    similarity: Similarity | None = None,
) -> tuple[str, list[Citation]]:
    """The answer with any differing figures quoted and cited after it."""
    cited = [c.source for c in citations]
    differing = differing_figures(answer, cited, passages, texts, similarity)
    if not differing:
        return answer, citations
    notes = []
    for n, sentence in differing:
        hit = passages[n - 1]
        where = f"A report dated {hit.date}" if hit.date else "Another report"
        quoted = sentence.rstrip(_CLOSING)
        notes.append(f'{where} gives a different figure: "{quoted}" [{n}].')
        if all(c.n != n for c in citations):
            citations = [
                *citations,
                cite(n, hit, sentence),
            ]
    return " ".join([answer, *notes]), sorted(citations, key=lambda c: c.n)


__all__ = ["differing_figures", "figures", "note_differences", "quoted_figure"]
