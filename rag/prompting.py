"""Prompt assembly: templates from ``prompts/``, rendered strictly, fitted to the context.

``build_messages`` is pure: it takes the question, the candidate passages, the conversation
and a token counter, and returns the chat messages plus the passages that made it in. It
guarantees ``prompt tokens + max_tokens <= n_ctx`` by dropping, in order: older history
turns, lower-ranked passages, then the tail of the last passage and of the question. A
missing template variable is an error, never an empty string.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .draft import Passage, date_passages
from .errors import SettingsError
from .generation import TEMPLATE_TOKENS_PER_MESSAGE, Messages
from .records import Hit, Turn
from .settings import PROMPTS

NOT_FOUND = "NOT FOUND"


@dataclass(frozen=True)
class Templates:
    system: str
    answer: str
    passage: str
    judge: str = ""  # optional (judge.md): does $evidence say $claim? yes/no
    # Requests about whole documents (``rag.overview``): the system prompt, and the
    # excerpts read ($passages) with the $request. Optional in a folder of
    # one's own: the packaged ones are used where a file is missing.
    whole: str = ""
    whole_user: str = ""
    # Optional (answers.md): does $evidence answer $question? yes/no, read from the first step.
    answers: str = ""


@lru_cache(maxsize=4)
def load_templates(folder: Path) -> Templates:
    def optional(name: str) -> str:
        for place in (folder, PROMPTS):
            if (place / f"{name}.md").exists():
                return (place / f"{name}.md").read_text(encoding="utf-8").strip()
        return ""

    try:
        system, answer, passage = (
            (folder / f"{name}.md").read_text(encoding="utf-8").strip()
            for name in ("system", "answer", "passage")
        )
        judge = folder / "judge.md"
        return Templates(
            system,
            answer,
            passage,
            judge.read_text(encoding="utf-8").strip() if judge.exists() else "",
            optional("whole"),
            optional("whole-part"),
            optional("answers"),
        )
    except OSError as exc:
        raise SettingsError(
            f"Cannot read prompt templates in {folder} ({exc}): fix RAG_PROMPTS."
        ) from None


def render(template: str, **values: object) -> str:
    """Fill ``$names`` in ``template``; a name without a value raises SettingsError.

    >>> render("Q: $question", question="Why?")
    'Q: Why?'
    """
    try:
        return string.Template(template).substitute(**values)
    except KeyError as exc:
        raise SettingsError(f"Prompt template needs a value for {exc}.") from None


def describe_date(iso: str) -> str:
    """``2022-02-18`` -> ``Friday 2022-02-18``, so relative days in the text can be resolved.

    >>> describe_date("2022-02-18")
    'Friday 2022-02-18'
    >>> describe_date("")
    ''
    """
    try:
        return f"{dt.date.fromisoformat(iso):%A} {iso}"
    except ValueError:
        return iso


def format_passage(
    template: str, n: int, hit: Hit, text: str | None = None, same_as: int | None = None
) -> str:
    """One passage as ``template`` lays it out, showing ``text`` (already dated: ``rag.draft``;
    default: the chunk as written); ``same_as``, the number of an earlier passage of the same
    article, stands in for the date (fewer prompt tokens). A PDF's page and the section
    heading are named too, so the model reads a passage where its document puts it.

    >>> format_passage("[$n]$dated: $text", 2, Hit("r.pdf", "c", 1.0, "Costs rose.", 0, 11, page=3, section="Costs"))
    '[2], page 3, section "Costs": Costs rose.'
    """
    if not hit.date:
        dated = ""
    elif same_as is not None:
        dated = f", same article as passage [{same_as}]"
    else:
        dated = f", article dated {describe_date(hit.date)}"
    if hit.page is not None:
        dated += f", page {hit.page}"
    if hit.section:
        dated += f', section "{hit.section}"'
    text = text if text is not None else hit.text
    return render(template, n=n, source=hit.source, dated=dated, text=text)


def build_messages(
    question: str,
    passages: Sequence[Passage | Hit],
    history: Sequence[Turn],
    templates: Templates,
    count: Callable[[str], int],
    budget: int,
    texts: Sequence[str] | None = None,
) -> tuple[Messages, list[Hit]]:
    """Chat messages for the question within ``budget`` prompt tokens, and the passages used.

    Passages keep their rank order and are numbered from 1 in the prompt, each showing its
    dated text (``Passage.shown``); plain ``Hit``s are dated here, showing ``texts`` when
    given (e.g. their most relevant sentences) or else the whole chunk.
    """
    overhead = TEMPLATE_TOKENS_PER_MESSAGE
    system = {"role": "system", "content": templates.system}
    fixed = (
        count(templates.system)
        + count(render(templates.answer, passages="", question=""))
        + 3 * overhead
    )
    q_budget = max(16, (budget - fixed) // 4)
    question = _truncate(question, q_budget, count)
    room = budget - fixed - count(question)

    used: list[Hit] = []
    blocks: list[str] = []
    first: dict[str, int] = {}  # source -> the number of its first passage
    for passage in date_passages(passages, texts):
        hit, shown = passage.hit, passage.shown
        same_as = first.get(hit.source)
        block = format_passage(templates.passage, len(used) + 1, hit, text=shown, same_as=same_as)
        first.setdefault(hit.source, len(used) + 1)
        cost = count(block) + 2
        if cost > room:
            if not used and room > 32:  # always keep the best passage, shortened to fit
                header = format_passage(templates.passage, 1, hit, text="")
                text = _truncate(shown, room - count(header) - 4, count)
                blocks.append(format_passage(templates.passage, 1, hit, text=text))
                used.append(hit)
                room -= count(blocks[-1]) + 2
            break
        blocks.append(block)
        used.append(hit)
        room -= cost

    turns: list[dict[str, str]] = []
    for turn in reversed(history):
        pair = [
            {"role": "user", "content": turn.question},
            {"role": "assistant", "content": turn.answer},
        ]
        cost = sum(count(m["content"]) + overhead for m in pair)
        if cost > room:
            break
        turns[:0] = pair
        room -= cost

    user = {
        "role": "user",
        "content": render(templates.answer, passages="\n\n".join(blocks), question=question),
    }
    return [system, *turns, user], used


def _truncate(text: str, max_tokens: int, count: Callable[[str], int]) -> str:
    """The longest prefix of ``text`` (cut at a space) within ``max_tokens``."""
    if count(text) <= max_tokens:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    return cut[: cut.rfind(" ")] if " " in cut[len(cut) // 2 :] else cut
