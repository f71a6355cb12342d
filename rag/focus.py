"""Keep the sentences that matter: fewer, better context tokens for a small model.

Retrieval returns chunks of ~160 tokens; most of each chunk is beside the point, and every
100 prompt tokens cost the 0.5B model about half a second before its first word. Here every
sentence of the retrieved chunks is embedded and scored against the question; the best
sentences (with their immediate neighbour for context where it fits) are kept, in document
order, and passages are re-ranked by their best sentence. The chunk itself is unchanged, so
citations still point at the whole chunk and its file offsets. A question's sentence vectors
are cached in the process (``VectorCache``), whole: the same question asked again skips the
embedding, and no vector depends on what was asked before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .chunking import looks_like_instruction, sentence_spans
from .embedding import SENTENCE_VECTORS, Embedder
from .records import Hit

SPEAKER_SENTENCES = 2  # best sentences whose preceding sentence is added for "who" questions
_WHO = re.compile(r"\s*(?:and\s+|so\s+)?who\b", re.I)


def asks_who(question: str) -> bool:
    """Whether the question asks for a person ("Who said ...?").

    >>> asks_who("Who said it?"), asks_who("What did he say?")
    (True, False)
    """
    return bool(_WHO.match(question))


@dataclass(frozen=True)
class Focused:
    hit: Hit  # the chunk, unchanged
    text: str  # the kept sentences, in order, "..." where sentences were left out
    best: float


def focus(
    question_vector: Sequence[float],
    hits: Sequence[Hit],
    embedder: Embedder,
    max_sentences: int = 6,
    per_passage: int = 3,
    speaker: bool = False,
    follow: int = 0,
) -> list[Focused]:
    """Passages re-ranked by their best sentence, each cut down to its relevant sentences.

    Passages with no sentence among the ``max_sentences`` best overall are dropped; a
    sentence already kept from a better passage is not repeated. With ``speaker`` (the
    question asks who said something) the sentence before each of the ``SPEAKER_SENTENCES``
    best is kept too: articles often name the speaker there ("Jen Psaki underscored the
    urgency. We're now at a stage where ..."). The sentence after each of the ``follow``
    best is kept too: the answer often follows the sentence that matches the question ("To
    convert to WAL mode, use the following pragma: | PRAGMA journal_mode=WAL;").
    """
    sentences: list[tuple[int, int, int]] = []  # (hit index, start, end) within hit.text
    for i, hit in enumerate(hits):
        sentences.extend(
            (i, s, e)
            for s, e in sentence_spans(hit.text)
            if not looks_like_instruction(hit.text[s:e])
        )
    if not sentences:
        return []
    vectors = SENTENCE_VECTORS.embed(embedder, [hits[i].text[s:e] for i, s, e in sentences])
    scores = [sum(a * b for a, b in zip(question_vector, v)) for v in vectors]
    ranked = sorted(range(len(sentences)), key=lambda j: -scores[j])
    chosen: dict[int, list[int]] = {}
    seen: set[str] = set()  # the same sentence in two passages (syndicated copies) is shown once
    for j in ranked:
        i, s, e = sentences[j]
        key = " ".join(hits[i].text[s:e].lower().split())
        if key in seen:
            continue
        if len(chosen.get(i, [])) < per_passage:
            chosen.setdefault(i, []).append(j)
            seen.add(key)
        if sum(len(v) for v in chosen.values()) >= max_sentences:
            break
    kept = {j for js in chosen.values() for j in js}
    lead = SPEAKER_SENTENCES if speaker else 0
    for offset, top in ((-1, lead), (1, follow)):
        for j in [j for j in ranked[:top] if j in kept]:
            i, n = sentences[j][0], j + offset
            if 0 <= n < len(sentences) and sentences[n][0] == i and n not in chosen[i]:
                chosen[i].append(n)
    out = []
    for i, js in chosen.items():
        js = sorted(js)
        parts, previous = [], None
        for j in js:
            _, s, e = sentences[j]
            if previous is not None and j != previous + 1:
                parts.append("...")
            parts.append(hits[i].text[s:e])
            previous = j
        best = max(scores[j] for j in js)
        out.append(Focused(hits[i], " ".join(parts), round(best, 4)))
    return sorted(out, key=lambda f: -f.best)
