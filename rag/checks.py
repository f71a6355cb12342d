"""The checks a model's reply passes before it is an answer, listed in the order they run.

Each check is a function of the ``Draft`` (``rag.draft``: question, dated passages, reply,
answer so far) and the ``Tools`` it may use, returning the draft revised. Each can be turned
off by its setting, so its effect can be measured on any question set:

=================  ==========================  =========================================
check              setting                     what it does
=================  ==========================  =========================================
``confidence``     ``RAG_MIN_CONFIDENCE``      abstains when the model's own confidence
                                               (``rag.confidence``) is below the setting
``support``        ``RAG_CHECK_SUPPORT``       keeps only sentences a cited passage
                                               supports (``rag.citations.check``); off:
                                               the reply is taken as written, its
                                               markers as its citations
``answers``        ``RAG_MIN_ANSWERS``         abstains when the model, shown only the cited
                                               passages and the question, says they answer
                                               it with less than the setting's probability
                                               (one prompt read, nothing generated)
``figures``        ``RAG_VERIFY_FIGURES``      asks the model whether the cited passage
                                               says each figure stated (``rag.verify``)
``dates``          ``RAG_DATE_WEEKDAYS``       dates a weekday the answer copied bare
``conflicts``      ``RAG_NOTE_CONFLICTS``      quotes other articles' different figures
                                               for what the answer counts
                                               (``rag.conflicts``)
=================  ==========================  =========================================

A check that leaves nothing abstains; the checks after it do not run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .citations import (
    best_quote,
    check,
    cite,
    date_weekdays,
    markers,
    says_not_found,
    split_clauses,
    strip_headers,
    strip_markers,
)
from .conflicts import figures, note_differences
from .draft import Draft, date_passage
from .generation import Generator
from .prompting import NOT_FOUND, Templates, render
from .records import Hit
from .settings import Settings
from .verify import verify_figures

NOTE_SEARCH_K = 8  # passages searched for other articles' figures when an answer states one

Search = Callable[[str, int], list[Hit]]
Embed = Callable[[list[str]], list[list[float]]]


@dataclass(frozen=True)
class Tools:
    """What the checks may call: the model (for the figure check), a search over the index
    and the embedder (for other articles' figures); ``search`` is None without an index."""

    generator: Generator
    templates: Templates
    search: Search | None = None
    embed: Embed | None = None
    min_confidence: float = 0.0
    min_answers: float = 0.0


Check = Callable[[Draft, Tools], Draft]


def sure(draft: Draft, tools: Tools) -> Draft:
    """An answer the model itself gave less than ``min_confidence`` is an abstention."""
    if draft.confidence is not None and draft.confidence < tools.min_confidence:
        return replace(draft, answer="", citations=[], abstained=True)
    return draft


def support(draft: Draft, tools: Tools) -> Draft:
    """Sentences no cited passage supports are dropped or re-pointed (``rag.citations``)."""
    checked = check(draft.reply, draft.passages[: draft.shown], draft.topic)
    return replace(
        draft,
        answer=checked.text,
        citations=checked.citations,
        abstained=checked.abstained,
        dropped=checked.dropped,
    )


def as_written(draft: Draft) -> Draft:
    """The reply as the model wrote it (headers it copied aside), citing what it marks:
    the answer when the support check is off."""
    text = strip_headers(draft.reply.replace(NOT_FOUND, ""))
    if says_not_found(draft.reply) or not strip_markers(text).strip(" ."):
        return replace(draft, answer="", citations=[], abstained=True)
    shown = draft.passages[: draft.shown]
    cited = [n for n in markers(text) if 1 <= n <= len(shown)]
    said = strip_markers(text)
    citations = [cite(n, shown[n - 1].hit, best_quote(said, shown[n - 1])) for n in sorted(cited)]
    return replace(draft, answer=text, citations=citations, abstained=False)


def answers(draft: Draft, tools: Tools) -> Draft:
    """An answer whose cited passages, asked about alone, the model doubts answer the
    question is an abstention. Every word of an answer may be in its passage and still not
    answer what was asked (asked what grows more adept with age, "the skin becomes less
    adept"); the support check cannot see that, the model asked exactly that can. The
    probability is read from the first step of the reply (``yes_probability``): a prompt is
    read, nothing generated. A generator that cannot tell leaves the answer as it is."""
    judge = getattr(tools.generator, "yes_probability", None)
    if not tools.templates.answers or judge is None or not draft.citations:
        return draft
    shown = {p.n: p.shown for p in draft.passages}
    evidence = "\n\n".join(shown[c.n] for c in draft.citations if c.n in shown)
    messages = [
        {"role": "system", "content": tools.templates.system},
        {
            "role": "user",
            "content": render(tools.templates.answers, evidence=evidence, question=draft.topic),
        },
    ]
    judged = judge(messages)
    if judged is not None and judged < tools.min_answers:
        return replace(draft, answer="", citations=[], abstained=True, judged=judged)
    return replace(draft, judged=judged)


def figures_said(draft: Draft, tools: Tools) -> Draft:
    """Sentences stating a number the model, asked alone, says its passage does not say
    are dropped (or moved to the passage it says does: ``rag.verify``)."""
    if not tools.templates.judge:
        return draft
    answer, cited = verify_figures(
        draft.answer,
        draft.citations,
        draft.passages[: draft.shown],
        tools.generator,
        tools.templates.system,
        tools.templates.judge,
    )
    return replace(draft, answer=answer, citations=cited, abstained=not answer)


def dates(draft: Draft, tools: Tools) -> Draft:
    """A bare weekday in the answer gets the date its cited passage gives it."""
    return replace(draft, answer=date_weekdays(draft.answer, draft.passages))


def conflicts(draft: Draft, tools: Tools) -> Draft:
    """When the answer states a figure, other articles' different figures for the same
    thing, among the passages shown and those a search for the answer finds, are quoted
    after it, each cited; the passages they come from are numbered after the ones shown."""
    if tools.search is None or tools.embed is None or not figures(draft.answer):
        return draft
    passages = list(draft.passages)
    known = {p.hit.chunk_id for p in passages}
    # The whole answer, and each clause stating a figure alone: "... 190,000 troops on
    # Ukraine's borders, and authorities have warned ..." searched whole finds warnings.
    said = strip_markers(draft.answer)
    queries = [said, *(c for c in split_clauses(said) if figures(c) and c != said)]
    for query in queries:
        for hit in tools.search(query, NOTE_SEARCH_K):
            if hit.chunk_id not in known:
                known.add(hit.chunk_id)
                passages.append(date_passage(len(passages) + 1, hit))

    embed = tools.embed
    anchors = embed([draft.topic, draft.answer])  # once, not once per candidate sentence

    def similarity(_said: str, others: Sequence[str]) -> list[float]:
        """Mean cosine similarity of each of ``others`` to the question and the answer."""
        return [
            sum(sum(a * b for a, b in zip(t, v)) for t in anchors) / len(anchors)
            for v in embed(list(others))
        ]

    text, citations = note_differences(
        draft.answer, draft.citations, [p.hit for p in passages],
        [p.focused for p in passages], similarity,
    )  # fmt: skip
    used = max((c.n for c in citations), default=0)
    return replace(
        draft, answer=text, citations=citations, passages=passages[: max(draft.shown, used)]
    )


# The checks in the order they run, each with the setting that turns it on.
CHECKS: tuple[tuple[str, str, Check], ...] = (
    ("confidence", "min_confidence", sure),
    ("support", "check_support", support),
    ("answers", "min_answers", answers),
    ("figures", "verify_figures", figures_said),
    ("dates", "date_weekdays", dates),
    ("conflicts", "note_conflicts", conflicts),
)


def enabled(settings: Settings, leave_out: Sequence[str] = ()) -> list[Check]:
    """The checks ``settings`` turn on, in order, without those named in ``leave_out``."""
    return [
        fn for name, setting, fn in CHECKS if getattr(settings, setting) and name not in leave_out
    ]


def review(
    draft: Draft,
    tools: Tools,
    checks: Sequence[Check],
    trail: list[tuple[str, Draft]] | None = None,
) -> Draft:
    """``draft`` through ``checks`` in order; stops at the first that abstains. Without the
    support check the reply is taken as written (``as_written``) first. ``trail``, if given,
    receives each step's name and the draft it returned (where an answer was lost)."""
    names = {fn: name for name, _, fn in CHECKS}
    if support not in checks:
        draft = as_written(draft)
        if trail is not None:
            trail.append(("as written", draft))
    for run in checks:
        if draft.abstained:
            break
        draft = run(draft, tools)
        if trail is not None:
            trail.append((names.get(run, getattr(run, "__name__", "check")), draft))
    return draft


__all__ = ["CHECKS", "Check", "Tools", "enabled", "review"]
