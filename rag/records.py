"""The records that flow through the assistant.

Everything the CLI prints with ``--json``, everything the Python API returns and everything
the UI shows is one of these dataclasses (or ``asdict()`` of one), so the three faces can
never disagree. Field names are a public contract: add fields, never rename them.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One source file, read and decoded, with the metadata found in its text."""

    path: str  # absolute path of the file
    source: str  # file name, as shown to users and cited
    text: str
    sha256: str  # of the decoded text (in the index: with how it was chunked, ingest.index_version)
    title: str = ""
    date: str = ""  # ISO yyyy-mm-dd when the text states one, else ""
    url: str = ""
    author: str = ""
    pages: tuple[int, ...] = ()  # offset in ``text`` where page i + 1 begins (PDF), else ()
    sections: tuple[tuple[int, str], ...] = ()  # (offset, heading) where each section begins
    notes: tuple[str, ...] = ()  # parts of the file left out, and why ("page 3: ...")

    def page_at(self, offset: int) -> int | None:
        """The page (from 1) that holds character ``offset``, or None for unpaged files."""
        return bisect_right(self.pages, offset) or None if self.pages else None

    def section_at(self, offset: int) -> str:
        """The heading of the section that holds character ``offset`` ("" before the first)."""
        i = bisect_right([at for at, _ in self.sections], offset)
        return self.sections[i - 1][1] if i else ""


@dataclass(frozen=True)
class Chunk:
    """A token-sized, sentence-aligned slice of a document: ``doc.text[start:end] == text``."""

    chunk_id: str
    source: str
    path: str
    index: int
    start: int
    end: int
    text: str
    title: str = ""
    date: str = ""
    doc_sha256: str = ""
    page: int | None = None  # of a PDF, from 1; None for unpaged files
    section: str = ""  # the heading the chunk sits under, "" when the file has none


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its relevance score (higher is better)."""

    source: str
    chunk_id: str
    score: float
    text: str
    start: int
    end: int
    title: str = ""
    date: str = ""
    index: int = 0
    page: int | None = None  # of a PDF, from 1; None for unpaged files
    section: str = ""


@dataclass(frozen=True)
class Citation:
    """A passage the answer cites as ``[n]``, mapped back to its file and character span.

    ``quote`` is the sentence of the passage that best supports the answer (may be "").
    """

    n: int
    source: str
    chunk_id: str
    start: int
    end: int
    text: str
    title: str = ""
    date: str = ""
    quote: str = ""
    page: int | None = None  # of a PDF, from 1; None for unpaged files
    section: str = ""


@dataclass
class Answer:
    """What the assistant says, whether it abstained, what it cites and how long it took.

    ``passages`` are every passage the model was shown (numbered like the prompt);
    ``citations`` only those the answer actually cites and that support it.
    """

    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    passages: list[Hit] = field(default_factory=list)
    model: str = ""
    # How sure the model was of this answer, 0-1, from its own probabilities (see
    # ``rag.confidence``); None when the model was not asked or its probabilities are unknown.
    confidence: float | None = None
    # The probabilities it came from: ``decline`` (of opening with NOT FOUND) and ``tokens``;
    # ``answers``, where asked, the model's probability that the cited passages answer it.
    likelihood: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation, as given to ``Assistant.ask(history=...)``."""

    question: str
    answer: str


@dataclass
class IngestReport:
    """What one ingest run changed. Every file seen lands in exactly one list."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file -> reason
    # file -> parts of it left out while the rest was ingested ("page 3: no text layer ...")
    notes: dict[str, list[str]] = field(default_factory=dict)
    chunks: int = 0  # chunks in the index after the run
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def changes(self, at: str = "") -> list[IndexChange]:
        """What this run changed, one record a file (unchanged files are not changes).

        >>> [c.line() for c in IngestReport(added=["a.txt"], skipped={"b.pdf": "empty file"}).changes()]
        ['added a.txt', 'skipped b.pdf: empty file']
        """
        out = [
            IndexChange(kind, name, notes=tuple(self.notes.get(name, ())), at=at)
            for kind, names in (("added", self.added), ("updated", self.updated))
            for name in names
        ]
        out += [IndexChange("removed", name, at=at) for name in self.removed]
        out += [IndexChange("skipped", n, reason, at=at) for n, reason in self.skipped.items()]
        return out


@dataclass(frozen=True)
class IndexChange:
    """One change a watched folder brought to the index (``Assistant.watch``)."""

    kind: str  # added | updated | removed | skipped
    source: str  # the file's name
    reason: str = ""  # why a skipped file was not ingested
    notes: tuple[str, ...] = ()  # parts of an added or updated file left out, and why
    at: str = ""  # when it was applied (ISO 8601, UTC)

    def line(self) -> str:
        """The change in one line, as ``rag ingest --watch`` prints it."""
        text = f"{self.kind} {self.source}"
        if self.reason:
            text += f": {self.reason}"
        if self.notes:
            text += f" (left out: {'; '.join(self.notes)})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DocumentInfo:
    """An indexed document as listed by ``rag docs`` and the UI."""

    source: str
    path: str
    chunks: int
    title: str = ""
    date: str = ""
    author: str = ""
    url: str = ""
    pages: int = 0  # of a PDF; 0 for unpaged files
