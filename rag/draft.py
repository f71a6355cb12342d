"""The record an answer is built in: the question, the passages the model was shown (each
dated once), the model's reply, and the answer and citations the checks make of it.

Dates are read here and nowhere else. A weekday in an article with a known date gets its
date written next to it ("on Wednesday (January 19)", ``rag.dates``) in the text the prompt
shows; the checks read the same text with years too ("January 19, 2022"), since the model
is shown each article's date. Every later stage takes the passage's dated forms from its
``Passage`` and never dates anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .chunking import sentence_spans
from .dates import anchor_weekdays, anchor_years, read_dated
from .records import Citation, Hit


@dataclass(frozen=True)
class Passage:
    """One passage numbered ``n`` (from 1) as the model saw it, dated once."""

    n: int
    hit: Hit  # the retrieved chunk, unchanged: citations point at it
    focused: str  # the chunk's sentences the prompt shows
    shown: str  # ``focused`` with weekdays dated: exactly the text in the prompt
    read: str  # ``shown`` with years as well: what the figure check's judge reads
    context: str  # the whole chunk, dated with years: what support is checked against
    sentences: tuple[tuple[str, str], ...]  # the chunk's sentences: (as written, dated)

    @property
    def source(self) -> str:
        return self.hit.source


def date_passage(n: int, hit: Hit, focused: str | None = None) -> Passage:
    """Passage ``n``: ``hit`` showing ``focused`` (default: the whole chunk), dated once.

    >>> p = date_passage(1, Hit("a.txt", "c", 1.0, "He left on Monday.", 0, 18, date="2022-01-18"))
    >>> p.shown, p.context
    ('He left on Monday (January 17).', 'He left on Monday (January 17, 2022).')
    """
    date = hit.date
    focused = hit.text if focused is None else focused
    shown = anchor_weekdays(focused, date)
    sentences = tuple(
        (hit.text[s:e], read_dated(hit.text[s:e], date)) for s, e in sentence_spans(hit.text)
    )
    return Passage(
        n, hit, focused, shown, anchor_years(shown, date), read_dated(hit.text, date), sentences
    )


def date_passages(
    hits: Sequence[Hit | Passage], texts: Sequence[str] | None = None
) -> list[Passage]:
    """``hits`` numbered from 1 and dated (``Passage``s are kept as they are)."""
    return [
        h if isinstance(h, Passage) else date_passage(n, h, texts[n - 1] if texts else None)
        for n, h in enumerate(hits, 1)
    ]


@dataclass
class Draft:
    """An answer in the making. The assistant fills ``question`` to ``reply``; each check
    (``rag.checks``) takes the draft and returns it with ``answer``, ``citations`` and
    ``abstained`` revised. ``passages`` may grow: passages a check adds (another article's
    differing figure) are numbered after the ones the model saw."""

    question: str
    topic: str  # the question with the previous one, for follow-ups
    passages: list[Passage]
    reply: str = ""  # the model's words, as streamed
    answer: str = ""
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    dropped: list[str] = field(default_factory=list)  # sentences removed as unsupported
    judged: float | None = None  # the model's P(yes): do the cited passages answer it?
    shown: int = 0  # how many of ``passages`` the model saw
    confidence: float | None = None  # the model's own (``rag.confidence``)

    def __post_init__(self) -> None:
        self.shown = self.shown or len(self.passages)

    @property
    def hits(self) -> list[Hit]:
        return [p.hit for p in self.passages]


__all__ = ["Draft", "Passage", "date_passage", "date_passages"]
