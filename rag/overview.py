"""Questions about whole documents: "Summarise 002_...", "What are the main points of the
Reuters article?", "List every figure the articles give for troop numbers".

Such a request is answered from every passage of the document(s) it is about, in order, not
from the few chunks a search returns. When they do not fit the model's context, each part is
summarised for the request (map) and the parts' notes are then combined (reduce); passage
numbers run through the whole document, so every sentence of the result still cites the
passage it came from, and is checked against it like any answer.

Which documents: those the request names (file name, its stem, or its title), else the one
the best search hit comes from, or, when the request speaks of documents in the plural, the
few the search reaches most.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from .chunking import sentence_spans
from .generation import Generator, Messages, messages_tokens
from .prompting import Templates, format_passage, render
from .records import DocumentInfo, Hit

# Asks for the gist or an inventory of whole documents rather than one fact. These are the
# verbs and nouns of the request itself, not of any document's subject.
_WHOLE = re.compile(
    r"\b(?:summari[sz](?:e|es|ing|ation)|summary|sum up|overview|gist|tl;?dr"
    r"|main (?:points?|ideas?|arguments?|findings?|messages?|takeaways?)"
    r"|key (?:points?|ideas?|findings?|takeaways?|facts)"
    r"|what (?:is|are) (?:it|this|that|these|the (?:\w+ )?(?:article|document|report|file|paper|page|chapter)s?) (?:all )?about"
    r"|list (?:every|all|each)\b)",
    re.I,
)
_PLURAL = re.compile(r"\b(?:articles|documents|reports|files|papers|sources|all of them)\b", re.I)
MAX_DOCUMENTS = 5  # read whole for one plural request, the ones the search reaches most
NOTES_TOKENS = 250  # what each part's notes may take in a map-reduce


def wants_whole(question: str) -> bool:
    """Whether ``question`` asks about whole documents (a summary, the main points, a list of
    every ...) rather than for one fact.

    >>> [wants_whole(q) for q in ("Summarise 002_9a8e.txt", "What are the main points of the Reuters article?", "List every figure the articles give for troop numbers", "How long did the meeting last?")]
    [True, True, True, False]
    """
    return bool(_WHOLE.search(question))


def plural(question: str) -> bool:
    return bool(_PLURAL.search(question))


def named(question: str, documents: Sequence[DocumentInfo]) -> list[DocumentInfo]:
    """Documents the question names by file name, by its stem (at least 4 characters), or by
    its whole title.

    >>> docs = [DocumentInfo("002_9a8e.txt", "/d/002_9a8e.txt", 3, title="Blinken to meet Lavrov"), DocumentInfo("notes.md", "/d/notes.md", 1)]
    >>> [d.source for d in named("Summarise 002_9a8e", docs)], [d.source for d in named("summarise 'blinken to meet lavrov'", docs)]
    (['002_9a8e.txt'], ['002_9a8e.txt'])
    """
    text = question.lower()
    found = []
    for doc in documents:
        stem = doc.source.rsplit(".", 1)[0].lower()
        title = doc.title.lower().strip()
        if (
            doc.source.lower() in text
            or (len(stem) >= 4 and re.search(rf"(?<![\w.]){re.escape(stem)}(?![\w])", text))
            or (len(title) >= 12 and title in text)
        ):
            found.append(doc)
    return found


@dataclass
class Part:
    """Consecutive passages that fit one prompt, numbered as in the whole reading."""

    first: int  # number of the first passage, from 1
    hits: list[Hit]


def in_order(hits: Sequence[Hit]) -> list[Hit]:
    """A document's chunks in reading order, documents in the order given, each without the
    text it shares with the chunk before it (chunks overlap), so nothing is read twice.

    >>> a, b = Hit("d.txt", "a", 1, "One. Two.", 0, 9, index=0), Hit("d.txt", "b", 1, "Two. Three.", 5, 16, index=1)
    >>> [(h.text, h.start) for h in in_order([b, a])]
    [('One. Two.', 0), ('Three.', 10)]
    """
    order = {source: i for i, source in enumerate(dict.fromkeys(h.source for h in hits))}
    out: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (order[h.source], h.index)):
        before = out[-1] if out and out[-1].source == hit.source else None
        if before is not None and before.end > hit.start:
            cut = before.end - hit.start
            rest = hit.text[cut:]
            start = hit.start + cut + (len(rest) - len(rest.lstrip()))
            if not rest.strip():
                continue  # all of it was in the chunk before
            hit = replace(hit, text=rest.strip(), start=start)
        out.append(hit)
    return out


def unrepeated(text: str) -> str:
    """``text`` without sentences said before in it, word for word.

    >>> unrepeated("It rose [1]. It fell [2]. It rose [1].")
    'It rose [1]. It fell [2].'
    """
    seen: set[str] = set()
    kept = []
    for s, e in sentence_spans(text):
        key = " ".join(text[s:e].lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(text[s:e])
    return " ".join(kept)


def split(
    hits: Sequence[Hit], budget: int, count: Callable[[str], int], template: str
) -> list[Part]:
    """``hits`` in parts of at most ``budget`` tokens each (a passage is never split)."""
    parts: list[Part] = []
    used = 0
    for n, hit in enumerate(hits, 1):
        size = count(format_passage(template, n, hit)) + 2
        if not parts or (used + size > budget and parts[-1].hits):
            parts.append(Part(n, []))
            used = 0
        parts[-1].hits.append(hit)
        used += size
    return parts


def part_messages(templates: Templates, request: str, part: Part) -> Messages:
    passages = "\n\n".join(
        format_passage(templates.passage, part.first + i, hit) for i, hit in enumerate(part.hits)
    )
    return [
        {"role": "system", "content": templates.whole},
        {
            "role": "user",
            "content": render(templates.whole_user, passages=passages, request=request),
        },
    ]


def combine_messages(templates: Templates, request: str, notes: Sequence[str]) -> Messages:
    joined = "\n\n".join(f"Notes on part {i}:\n{n.strip()}" for i, n in enumerate(notes, 1))
    return [
        {"role": "system", "content": templates.whole},
        {"role": "user", "content": render(templates.whole_combine, notes=joined, request=request)},
    ]


def read_whole(
    generator: Generator,
    templates: Templates,
    request: str,
    hits: Sequence[Hit],
    max_tokens: int,
) -> Iterator[str]:
    """The model's reply to ``request`` over every passage of ``hits`` (in reading order),
    streamed; notes per part first (not streamed) when they do not fit one prompt."""
    room = generator.n_ctx - max_tokens - 64
    overhead = messages_tokens(generator, part_messages(templates, request, Part(1, [])))
    parts = split(hits, room - overhead, generator.count_tokens, templates.passage)
    if len(parts) == 1:
        yield from generator.stream(part_messages(templates, request, parts[0]), max_tokens)
        return
    notes = [
        "".join(generator.stream(part_messages(templates, request, part), NOTES_TOKENS))
        for part in parts
    ]
    while messages_tokens(generator, combine_messages(templates, request, notes)) > room:
        notes = notes[:-1]  # (only with very many parts: the last ones give way)
    yield from generator.stream(combine_messages(templates, request, notes), max_tokens)


__all__ = ["in_order", "named", "plural", "read_whole", "split", "unrepeated", "wants_whole"]
