"""Where each question is lost, stage by stage: the loss waterfall.

An answerable question is classified by the first stage of the answer path that loses its
answer, judged by the set's own gold answers (``answer_matches``, whole words) on the text
each stage hands on:

=========================  ===============================================================
stage                      lost when
=========================  ===============================================================
``search``                 no chunk of the 20 best hits holds the answer
``top-k``                  one of the 20 does, none of the top-k passages does
``gate``                   the relevance gate abstained before the model was asked
``focus``                  the passages hold it, the sentences shown to the model do not
``model``                  shown, but the model's raw reply does not give it
``checks: <name>``         the raw reply gives it, the named check removed it (abstained,
                           or dropped the sentence that said it)
``right``                  the checked answer gives it
=========================  ===============================================================

A question answered right is ``right`` whatever an earlier stage's text held (the model may
give the answer in other words than the gold's). An unanswerable question is classified by
who abstained: ``gate``, ``model`` (it replied NOT FOUND), ``checks: <name>``, or
``answered`` when an invented answer was shown.

Everything here is a function of the question, the passages and the kept raw reply, so a
suite run's replies are classified by ``rag eval --replay`` without generating again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.citations import says_not_found
from rag.draft import Draft
from rag.records import Hit

from .metrics import answer_matches

if TYPE_CHECKING:
    from rag.assistant import Assistant, Prepared

WIDE_K = 20  # the hits searched for the answer first
ANSWERABLE_ORDER = ("search", "top-k", "gate", "focus", "model", "checks", "right")
UNANSWERABLE_ORDER = ("gate", "model", "checks", "answered")

Contains = Callable[[str], bool]


def gold(answers: Sequence[str], all_of: Sequence[str] | None = None) -> Contains:
    """Whether a text gives the gold answer.

    >>> gold(["90 minutes"])("talks that lasted around 90 minutes [1]")
    True
    """
    return lambda text: answer_matches(text, answers, all_of)


def answerable_stage(
    contains: Contains,
    *,
    wide: Sequence[Hit] | None,
    top: Sequence[Hit] | None,
    gated: bool,
    shown: Sequence[str],
    reply: str,
    trail: Sequence[tuple[str, Draft]],
    right: bool,
) -> str:
    """The first stage that lost an answerable question (see the module's table). ``wide``
    and ``top`` are None where a set gives the passages instead of searching (RGB)."""
    if right:
        return "right"
    if wide is not None and not any(contains(h.text) for h in wide):
        return "search"
    if top is not None and not any(contains(h.text) for h in top):
        return "top-k"
    if gated:
        return "gate"
    if not any(contains(text) for text in shown):
        return "focus"
    if says_not_found(reply) or not contains(reply):
        return "model"
    for name, draft in trail:
        # A check before the support check passes the draft on with no answer written yet.
        if draft.abstained or (draft.answer and not contains(draft.answer)):
            return f"checks: {name}"
    return "checks: scoring"  # right after every check, yet scored wrong (never seen so far)


def unanswerable_stage(gated: bool, reply: str, trail: Sequence[tuple[str, Draft]]) -> str:
    """Who abstained on an unanswerable question, or ``answered``."""
    if gated:
        return "gate"
    if says_not_found(reply):
        return "model"
    for name, draft in trail:
        if draft.abstained:
            return f"checks: {name}"
    return "answered"


@dataclass
class Traced:
    """What each stage of the answer path handed on for one question."""

    wide: list[Hit]  # the WIDE_K best hits
    prepared: Prepared  # the top-k, the gate's decision and the sentences shown
    reply: str  # the model's raw reply
    trail: list[tuple[str, Draft]] = field(default_factory=list)  # each check's draft

    def stage(self, answerable: bool, contains: Contains, right: bool) -> str:
        p = self.prepared
        gated = not p.messages
        if not answerable:
            return unanswerable_stage(gated, self.reply, self.trail)
        return answerable_stage(
            contains, wide=self.wide, top=p.hits, gated=gated,
            shown=[x.focused for x in p.passages], reply=self.reply, trail=self.trail,
            right=right,
        )  # fmt: skip


def traced(
    assistant: Assistant, question: str, history: Any, reply: str, trail: list[tuple[str, Draft]]
) -> Traced:
    """The stages of one question the ``assistant`` answered with ``reply``, its checks
    having left ``trail``: the wide search and the prompt are made again, as it made them."""
    return Traced(
        assistant.candidates(question, history, WIDE_K),
        assistant.prepare(question, history),
        reply,
        trail,
    )


def texts_stage(
    answerable: bool,
    contains: Contains,
    shown: Sequence[str],
    reply: str,
    trail: Sequence[tuple[str, Draft]],
    right: bool,
) -> str:
    """The stage for a question asked over given passages (no search, gate or focus: RGB)."""
    if not answerable:
        return unanswerable_stage(False, reply, trail)
    return answerable_stage(
        contains, wide=None, top=None, gated=False, shown=shown, reply=reply, trail=trail,
        right=right,
    )  # fmt: skip


def tally(records: Iterable[Mapping[str, Any]], key: str = "stage") -> dict[str, dict[str, int]]:
    """Counts of each stage, answerable and unanswerable apart, in the tables' order."""
    counts: dict[str, Counter[str]] = {"answerable": Counter(), "unanswerable": Counter()}
    for r in records:
        if r.get(key):
            counts["answerable" if r["answerable"] else "unanswerable"][r[key]] += 1
    return {
        "answerable": _ordered(counts["answerable"], ANSWERABLE_ORDER),
        "unanswerable": _ordered(counts["unanswerable"], UNANSWERABLE_ORDER),
    }


def _ordered(counts: Counter[str], order: Sequence[str]) -> dict[str, int]:
    def rank(stage: str) -> tuple[int, str]:
        head = stage.split(":")[0]
        return (order.index(head) if head in order else len(order), stage)

    return {stage: counts[stage] for stage in sorted(counts, key=rank)}


def waterfall_markdown(waterfalls: Mapping[str, Mapping[str, Mapping[str, int]]]) -> str:
    """One table for answerable questions and one for unanswerable ones, a column per set.

    >>> print(waterfall_markdown({"a": {"answerable": {"right": 2}, "unanswerable": {}}}))
    | answerable: lost at | a |
    |---|---|
    | right | 2 (1.00) |
    | all | 2 |
    <BLANKLINE>
    | unanswerable: abstained by | a |
    |---|---|
    | all | 0 |
    """
    sets = list(waterfalls)
    parts = []
    for side, title, order in (
        ("answerable", "answerable: lost at", ANSWERABLE_ORDER),
        ("unanswerable", "unanswerable: abstained by", UNANSWERABLE_ORDER),
    ):
        stages = _ordered(
            Counter({s: 1 for w in waterfalls.values() for s in w.get(side, {})}), order
        )
        totals = {name: sum(waterfalls[name].get(side, {}).values()) for name in sets}
        lines = [f"| {title} | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
        for stage in stages:
            cells = []
            for name in sets:
                n = waterfalls[name].get(side, {}).get(stage, 0)
                cells.append(f"{n} ({n / totals[name]:.2f})" if totals[name] else "0")
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
        lines.append("| all | " + " | ".join(str(totals[name]) for name in sets) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


__all__ = [
    "WIDE_K",
    "answerable_stage",
    "gold",
    "tally",
    "unanswerable_stage",
    "waterfall_markdown",
]
