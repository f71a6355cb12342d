"""A second opinion on figures: the model, asked on its own, whether the passage says it.

The lexical checker accepts a sentence whose words and numbers are all in its passage, even
when the passage means something else ("Russia withdrew 7,000 troops" from "Moscow has
instead added 7,000 more forces"). Asked separately, with only the passage and the sentence
in front of it ("Does the text say this? yes or no"), the same model catches some of these.
On the seed set's 66 answers (11 unsupported by hand) it caught 2 and flagged none of the 55
good ones; both catches stated a figure, and a check costs about a second on two cores, so
only sentences with a number are checked (``RAG_VERIFY_FIGURES``, on by default; 0 turns it
off).
The check runs under the assistant's own system prompt: llama.cpp keeps one cached prefix,
and a different system message would evict it, costing the next question about a second.
With either system message the judge gave the same verdicts on the 22 answers it checks.
A sentence whose words, in order, are a span of its passage is not judged: over three seed
runs the judge said no to 9 of the 61 other sentences it checked and to none of the 14
copies (docs/experiments.md).
When the judge says no, the sentence may still be what another passage shown to the model
says: the model often cites the first passage that mentions the event, not the one stating
the figure ("Blinken will meet Lavrov in Geneva on January 21", cited to "In Geneva on Friday
(January 21), Blinken will be testing Lavrov ..." beside "... then meet Russian Foreign
Minister Sergey Lavrov in Geneva on Friday (January 21)"). The other passage that backs the
sentence best by the lexical test, names included, is judged once more, and the sentence
is kept citing it if the judge says yes there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .chunking import sentence_spans
from .citations import (
    SUPPORT_THRESHOLD,
    best_quote,
    cite,
    markers,
    names,
    strip_markers,
    supporting,
    with_markers,
)
from .draft import Passage
from .generation import Generator
from .prompting import render
from .records import Citation

_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[^\W_]+")
MIN_COPY_WORDS = 6


def copied(claim: str, passage: str) -> bool:
    """Whether ``claim``'s words, in order, are a span of ``passage`` (case and punctuation
    aside), at least ``MIN_COPY_WORDS`` long: a copy cannot misstate its passage's figure."""
    said = _WORD.findall(claim.lower())
    if len(said) < MIN_COPY_WORDS:
        return False
    text = _WORD.findall(passage.lower())
    n = len(said)
    return any(text[i : i + n] == said for i in range(len(text) - n + 1))


def copies_a_cited(claim: str, cited: Sequence[int], passages: Sequence[Passage]) -> bool:
    """Whether ``claim`` is a copy (``copied``) of one of its ``cited`` passages (1-based)
    as the model saw it, weekdays dated: such a sentence is not judged."""
    return any(copied(claim, passages[n - 1].shown) for n in cited)


def judge_says(generator: Generator, system: str, template: str, evidence: str, claim: str) -> bool:
    """Whether the model, shown only ``evidence``, says it states ``claim`` (a reply that does
    not start with "no" counts as yes: the check only ever removes)."""
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": render(template, evidence=evidence, claim=claim)},
    ]
    reply = "".join(generator.stream(messages, 2)).strip().lower()
    return not reply.startswith("no")


def verify_figures(
    text: str,
    citations: list[Citation],
    passages: Sequence[Passage],
    generator: Generator,
    system: str,
    template: str,
) -> tuple[str, list[Citation]]:
    """``text`` without the sentences stating a number that the judge says their cited
    passages do not say, and the citations still used. The judge reads what the model was
    shown of each passage (``Passage.read``); a sentence copied from it (``copied``) is not
    judged."""
    kept: list[str] = []
    extra: dict[int, Citation] = {}  # passages a rejected sentence was moved to
    dated = [p.read for p in passages]
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        cited = [n for n in markers(sentence) if 1 <= n <= len(passages)]
        claim = strip_markers(sentence).strip()
        if cited and _DIGIT.search(claim) and not copies_a_cited(claim, cited, passages):
            evidence = "\n".join(dated[n - 1] for n in cited)
            if not judge_says(generator, system, template, evidence, claim):
                # The checker's own re-pointing, over the passages not cited, names required.
                others = ["" if n in cited else t for n, t in enumerate(dated, 1)]
                hits = [p.hit for p in passages]
                other = supporting(claim, [], others, names(claim, hits), SUPPORT_THRESHOLD)
                if not other or not judge_says(
                    generator, system, template, dated[other[0] - 1], claim
                ):
                    continue
                passage = passages[other[0] - 1]
                extra[other[0]] = cite(other[0], passage.hit, best_quote(claim, passage))
                sentence = with_markers(claim, other)
        kept.append(sentence)
    used = {n for sentence in kept for n in markers(sentence)}
    by_number = extra | {c.n: c for c in citations}
    return " ".join(kept), [by_number[n] for n in sorted(used) if n in by_number]
