"""Whole-document requests ("Summarise X", "What are the main points of X?", "List every ...
in X"), scored without a judge model.

The set is ``eval/sets/whole``: real documents in ``docs/`` and ``requests.jsonl``, one
request a line, ``{"id", "document", "request", "kind"}`` with ``kind`` one of ``KINDS``
and ``document`` the file name the request names. ``rag eval --suite`` asks each request
through ``Assistant.stream`` (``rag_eval.suite``) and scores the answer here:

* ``first_word_ms`` / ``total_ms``: wall-clock time from the call to the first streamed
  piece with a visible character, and to the final ``Answer`` (the answer's own
  ``timings_ms`` are kept beside them);
* ``coverage``: the share of the document's parts that a cited passage of that document
  overlaps. The parts are its sections (``Document.sections``, the headings ingestion
  records, the text before the first heading a part of its own), or, for a document with
  fewer than ``MIN_SECTIONS`` headings, its tenths by character offset; ``coverage_tenths``
  always counts tenths (a manual of eighty one-function sections is covered from start to
  end by ten passages, though they reach only an eighth of its sections);
* ``leaks``: prompt or internal text in the answer: a run of ``SHINGLE`` words (or a whole
  shorter line) of a prompt template line (``prompts/whole*.md``, ``prompts/system.md``),
  the labels of the prompts' scaffolding ("Request:", "Notes on part", "Answer:",
  "Passage ..."), or the request itself repeated. Text the document itself contains is not
  a leak;
* ``cited_list_numbers``: sentences that are only a number, list marker or line number with
  a citation ("1 [13].", "2. [6]");
* ``uncited_sentences``: sentences without a ``[n]`` marker (markers standing alone after a
  sentence belong to it);
* ``abstained``.

``summarize`` adds them up per set: mean coverage, the counts, abstentions on summaries and
the median and maximum times.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.chunking import sentence_spans
from rag.citations import markers, strip_markers
from rag.errors import InputError
from rag.records import Answer, Document
from rag.settings import PROJECT_ROOT
from rag.text import normalize_answer

from .evaluation import read_rows
from .metrics import median

WHOLE = PROJECT_ROOT / "eval" / "sets" / "whole"
KINDS = ("summary", "main_points", "list")
MIN_SECTIONS = 4  # fewer headings than this: the document is cut in tenths instead
TENTHS = 10
SHINGLE = 6  # words of a prompt line that, found together in an answer, make a leak

# The scaffolding of the whole-document prompts, and talk of the passages themselves.
# Group 1 is the label a document may contain itself ("Answer:" in a FAQ).
_INTERNAL = (
    re.compile(r"\b(Request:)"),
    re.compile(r"\b(Notes on part)\b", re.I),
    re.compile(r"\b(Answer:)"),
    re.compile(r"\b([Pp]assages?)\b(?:\s*\[?\d+\]?)?"),
)
_LEADING_MARKERS = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_PLACEHOLDER = re.compile(r"\$\{?\w+")
# A sentence that is nothing but a number, a list marker or a line number (or a run of them).
_LIST_NUMBER = re.compile(
    r"[\s(\[#]*(?:(?:\d{1,5}|i{1,3}|iv|vi{0,3}|ix|x|[a-z])\b[\s.,;:)\]]*)+|[\s\-*•·–—.]*",
    re.I,
)
_WORD = re.compile(r"\w+")

Clock = Callable[[], float]


# --------------------------------------------------------------------------------------
# The set
# --------------------------------------------------------------------------------------


def load_requests(path: str | Path = WHOLE / "requests.jsonl") -> list[dict[str, Any]]:
    """The requests of a JSONL file; InputError naming the file and line for a bad one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Request set {path} not found.")
    return read_rows(path, request_problem, "requests")


def request_problem(row: Any) -> str:
    """What is wrong with one request record, or "" if nothing.

    >>> request_problem({"id": "w1", "document": "a.md", "request": "Summarise a.md", "kind": "summary"})
    ''
    >>> request_problem({"id": "w1", "document": "a.md", "request": "Summarise it", "kind": "summary"})
    "the request does not name its document 'a.md'"
    """
    if not isinstance(row, dict):
        return "expected a JSON object"
    for name in ("id", "document", "request", "kind"):
        if not isinstance(row.get(name), str) or not row[name].strip():
            return f"{name!r} is missing or not a string"
    if row["kind"] not in KINDS:
        return f"'kind' must be one of {', '.join(KINDS)}"
    if row["document"] not in row["request"]:
        return f"the request does not name its document {row['document']!r}"
    return ""


# --------------------------------------------------------------------------------------
# Scoring one answer
# --------------------------------------------------------------------------------------


def timed(
    pieces: Iterable[str | Answer], clock: Clock = time.perf_counter
) -> tuple[str, Answer, float, float]:
    """Drain a streamed reply: ``(the text pieces joined, the final Answer, ms to the first
    piece with a visible character, ms to the end)``, timed by ``clock`` (seconds) from
    the first request for a piece. A stream that shows no word has its end as first word.

    >>> ticks = iter([0.0, 0.5, 2.0])
    >>> reply, answer, first, total = timed([" ", "Hi [1].", Answer("Hi [1].", False)], lambda: next(ticks))
    >>> reply, first, total
    (' Hi [1].', 500.0, 2000.0)
    """
    began = clock()
    text: list[str] = []
    first: float | None = None
    answer: Answer | None = None
    for piece in pieces:
        if isinstance(piece, Answer):
            answer = piece
            break
        text.append(piece)
        if first is None and piece.strip():
            first = clock()
    end = clock()
    if answer is None:
        raise TypeError("the stream must end with an Answer")
    return "".join(text), answer, _ms(first if first is not None else end, began), _ms(end, began)


def parts(text: str, sections: Sequence[tuple[int, str]]) -> list[tuple[int, int]]:
    """The spans coverage counts: one per section of ``text`` (the text before the first
    heading one more, when it holds any), or its tenths when it has fewer than
    ``MIN_SECTIONS`` headings.

    >>> parts("x" * 100, [(0, "A"), (10, "B"), (40, "C"), (70, "D")])
    [(0, 10), (10, 40), (40, 70), (70, 100)]
    >>> parts("intro " + "x" * 94, [(6, "A"), (20, "B"), (50, "C"), (80, "D")])[:2]
    [(0, 6), (6, 20)]
    >>> parts("x" * 20, [(0, "Only")])[:3]
    [(0, 2), (2, 4), (4, 6)]
    """
    n = len(text)
    starts = sorted({at for at, _ in sections if 0 <= at < n})
    if len(starts) < MIN_SECTIONS:
        bounds = [n * i // TENTHS for i in range(TENTHS + 1)]
    else:
        if text[: starts[0]].strip():
            starts.insert(0, 0)
        else:
            starts[0] = 0
        bounds = [*starts, n]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if a < b]


def by_sections(text: str, sections: Sequence[tuple[int, str]]) -> bool:
    """Whether ``parts`` cuts ``text`` by its sections (else in tenths)."""
    return len({at for at, _ in sections if 0 <= at < len(text)}) >= MIN_SECTIONS


def covered(spans: Sequence[tuple[int, int]], cited: Iterable[tuple[int, int]]) -> int:
    """How many of ``spans`` a cited ``(start, end)`` overlaps.

    >>> covered([(0, 10), (10, 20), (20, 30)], [(5, 12), (25, 26)])
    3
    >>> covered([(0, 10), (10, 20)], [(10, 10)])
    0
    """
    cited = list(cited)
    return sum(any(s < b and e > a for s, e in cited) for a, b in spans)


def prompt_lines(folder: Path) -> list[str]:
    """The lines of the whole-document and system prompt templates in ``folder`` that could
    leak into an answer: list markers removed, none with a ``$placeholder``, none of fewer
    than four words."""
    out: list[str] = []
    for path in sorted(folder.glob("whole*.md")) + [folder / "system.md"]:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip().lstrip("-*•").strip()
            if line and not _PLACEHOLDER.search(line) and len(_words(line).split()) >= 4:
                out.append(line)
    return list(dict.fromkeys(out))


def leaks(answer: str, request: str, prompts: Sequence[str], document: str = "") -> list[str]:
    """Prompt or internal text in ``answer`` that ``document`` does not itself contain: each
    prompt line of which ``SHINGLE`` words in a row (or all, if fewer) appear, each label of
    the prompts' scaffolding, and the request if it is repeated.

    >>> rules = ["End every sentence with the number of its passage in square brackets, like [2]."]
    >>> leaks("Addons are DLLs [1]. End every sentence with the number of its source [2].", "Summarise a.md", rules)
    ['End every sentence with the number of its passage in square brackets, like [2].']
    >>> leaks("Passage 3 says addons are DLLs [3].", "Summarise a.md", rules)
    ['Passage 3']
    >>> leaks("Request: Summarise a.md. Notes on part 2: it loads [1].", "Summarise a.md", [])
    ['Request:', 'Notes on part', 'Summarise a.md']
    >>> leaks("The FAQ has an Answer: field [1].", "Summarise a.md", [], document="Answer: yes")
    []
    """
    said = f" {_words(answer)} "
    known = f" {_words(document)} "
    found: list[str] = []
    for line in prompts:
        words = _words(line).split()
        grams = [" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))]
        if any(f" {g} " in said and f" {g} " not in known for g in grams):
            found.append(line)
    for pattern in _INTERNAL:
        for m in pattern.finditer(answer):
            if m.group(1).lower() not in document.lower():
                found.append(m.group(0).strip())
    asked = _words(request)
    if asked and f" {asked} " in said:
        found.append(request)
    return list(dict.fromkeys(found))


def sentence_marks(answer: str) -> tuple[list[str], list[str]]:
    """``(cited list numbers, uncited sentences)`` of an answer: sentences that are only a
    number, list marker or line number yet cite a passage, and sentences citing none (a
    bare number without a citation is neither).

    >>> sentence_marks("Addons are DLLs [1]. 1 [13]. 2. [6] They load fast. 3.")
    (['1.', '2.'], ['They load fast.'])
    """
    numbers: list[str] = []
    uncited: list[str] = []
    for claim, cited in _sentences(answer):
        if _LIST_NUMBER.fullmatch(claim):
            if cited:
                numbers.append(claim)
        elif not cited:
            uncited.append(claim)
    return numbers, uncited


def _sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Each sentence without its markers, with the passage numbers it cites. Markers that
    open a sentence, or make up all of it, belong to the sentence before ("It loads. [2]").

    >>> _sentences("It loads. [2] Then it runs [3].\\n[4]")
    [('It loads.', [2]), ('Then it runs.', [3, 4])]
    """
    out: list[tuple[str, list[int]]] = []
    for start, end in sentence_spans(answer):
        sentence = answer[start:end]
        lead = _LEADING_MARKERS.match(sentence)
        if lead and out:
            out[-1][1].extend(markers(lead.group()))
            sentence = sentence[lead.end() :]
        claim = strip_markers(sentence)
        if normalize_answer(claim):
            out.append((claim, markers(sentence)))
        elif out:
            out[-1][1].extend(markers(sentence))
    return out


def score(
    row: dict[str, Any],
    answer: Answer,
    reply: str,
    first_word_ms: float,
    total_ms: float,
    document: Document | None,
    prompts: Sequence[str],
) -> dict[str, Any]:
    """One request's record: the answer and every figure of the module docstring.
    ``document`` is the requested file as read for ingestion (None if unreadable: no parts)."""
    text = document.text if document else ""
    sections = document.sections if document else ()
    spans = parts(text, sections)
    own = [(c.start, c.end) for c in answer.citations if c.source == row["document"]]
    hit = covered(spans, own)
    tenths = parts(text, ())
    said = "" if answer.abstained else answer.answer
    numbers, uncited = sentence_marks(said)
    return {
        "id": row["id"],
        "document": row["document"],
        "kind": row["kind"],
        "request": row["request"],
        "answer": answer.answer,
        "abstained": answer.abstained,
        "citations": len(answer.citations),
        "cited_other_documents": len(answer.citations) - len(own),
        "cited": [[c.source, c.start, c.end, c.page, c.section] for c in answer.citations],
        "parts": len(spans),
        "parts_by": "sections" if by_sections(text, sections) else "tenths",
        "parts_covered": hit,
        "coverage": round(hit / len(spans), 4) if spans else 0.0,
        "coverage_tenths": round(covered(tenths, own) / len(tenths), 4) if tenths else 0.0,
        "leaks": leaks(said, row["request"], prompts, text),
        "cited_list_numbers": numbers,
        "uncited_sentences": uncited,
        "first_word_ms": round(first_word_ms, 1),
        "total_ms": round(total_ms, 1),
        "timings_ms": dict(answer.timings_ms),
        "model": answer.model,
        "reply": reply,
    }


# --------------------------------------------------------------------------------------
# The set's figures
# --------------------------------------------------------------------------------------


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The set's figures over its records (``items`` holds the records themselves)."""
    summaries = [r for r in records if r["kind"] == "summary"]
    answered = [r for r in records if not r["abstained"]]

    def mean(values: Sequence[float]) -> float:
        return round(sum(values) / len(values), 4) if values else 0.0

    def times(name: str) -> dict[str, float]:
        values = [float(r[name]) for r in records]
        return {"p50": median(values) if values else 0.0, "max": max(values, default=0.0)}

    return {
        "n": len(records),
        "by_kind": {k: sum(r["kind"] == k for r in records) for k in KINDS},
        "coverage": mean([r["coverage"] for r in records]),
        "coverage_answered": mean([r["coverage"] for r in answered]),
        "coverage_tenths": mean([r.get("coverage_tenths", 0.0) for r in records]),
        "coverage_of_summaries": mean([r["coverage"] for r in records if r["kind"] != "list"]),
        "coverage_by_kind": {
            k: mean([r["coverage"] for r in records if r["kind"] == k]) for k in KINDS
        },
        "leaks": sum(len(r["leaks"]) for r in records),
        "answers_with_leaks": sum(bool(r["leaks"]) for r in records),
        "cited_list_numbers": sum(len(r["cited_list_numbers"]) for r in records),
        "uncited_sentences": sum(len(r["uncited_sentences"]) for r in records),
        "abstained": sum(r["abstained"] for r in records),
        "abstained_summaries": sum(r["abstained"] for r in summaries),
        "n_summaries": len(summaries),
        "first_word_ms": times("first_word_ms"),
        "total_ms": times("total_ms"),
        "items": list(records),
    }


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The figures ``rag eval --suite`` shows for the set."""
    return {
        "coverage": result["coverage"],
        "coverage_of_summaries": result.get("coverage_of_summaries", 0.0),
        "coverage_tenths": result.get("coverage_tenths", 0.0),
        "leaks": result["leaks"],
        "cited_list_numbers": result["cited_list_numbers"],
        "uncited_sentences": result["uncited_sentences"],
        "abstained_summaries": result["abstained_summaries"],
        "n_summaries": result["n_summaries"],
        "n": result["n"],
        "first_word_p50_ms": result["first_word_ms"]["p50"],
        "first_word_max_ms": result["first_word_ms"]["max"],
        "total_p50_ms": result["total_ms"]["p50"],
        "total_max_ms": result["total_ms"]["max"],
    }


def _words(text: str) -> str:
    """Lowercased words of ``text``, one space apart.

    >>> _words("End every sentence, like [2].")
    'end every sentence like 2'
    """
    return " ".join(_WORD.findall(text.lower()))


def _ms(at: float, began: float) -> float:
    return round((at - began) * 1000, 1)
