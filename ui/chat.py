"""The chat's work: answer one message, yielding each state of the page as it changes.

Plain generators and values, no gradio: ``respond`` is what the chat event runs and what
the unit tests drive with the fake models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from rag.errors import RagError
from rag.records import Answer, Turn

from .render import (
    EVIDENCE_EMPTY,
    EVIDENCE_SEARCHING,
    error_html,
    evidence_html,
    link_markers,
    unlink_markers,
)

THINKING = "…"

Message = dict[str, str]


class View(NamedTuple):
    """One state of the page after a step of ``respond``."""

    chat: list[Message]  # what the chat shows: {"role": ..., "content": markdown}
    evidence: str  # the evidence panel's HTML
    history: list[Turn]  # (question, final answer) pairs, for follow-ups


def respond(
    assistant: Any,
    message: str,
    chat: list[Message] | None = None,
    history: list[Turn] | None = None,
    *,
    top_k: int | None = None,
    show_scores: bool = False,
) -> Iterator[View]:
    """Answer ``message``, yielding the page as it changes.

    First the question with a placeholder answer, then the model's raw text as it grows,
    then the verified answer (markers linked to ``#cite-n``) with its evidence. ``history``
    gains a ``Turn`` only when an answer is complete; a library error (empty question, no
    index, missing model) becomes a one-line reply and leaves ``history`` unchanged.
    """
    history = list(history or [])
    chat = [{**m, "content": unlink_markers(m["content"])} for m in chat or []]
    if not message or not message.strip():
        yield View(list(chat), EVIDENCE_EMPTY, history)
        return
    chat += [{"role": "user", "content": message}, {"role": "assistant", "content": THINKING}]
    yield View(list(chat), EVIDENCE_SEARCHING, history)

    stream = assistant.stream(message, history, top_k=top_k)
    raw = ""
    try:
        for piece in stream:
            if isinstance(piece, Answer):
                cited = {c.n for c in piece.citations}
                chat[-1] = {"role": "assistant", "content": link_markers(piece.answer, cited)}
                turn = Turn(message.strip(), piece.answer)
                yield View(list(chat), evidence_html(piece, show_scores), [*history, turn])
                return
            raw += piece
            chat[-1] = {"role": "assistant", "content": raw}
            yield View(list(chat), EVIDENCE_SEARCHING, history)
    except RagError as exc:
        chat[-1] = {"role": "assistant", "content": f"⚠️ {exc}"}
        yield View(list(chat), error_html(str(exc)), history)
    finally:
        stream.close()  # a cancelled answer releases the model at once


def stopped(chat: list[Message], history: list[Turn]) -> list[Message]:
    """The chat after the Stop button: an unfinished answer is marked as stopped.

    >>> stopped([{"role": "user", "content": "Why?"}, {"role": "assistant", "content": THINKING}], [])
    [{'role': 'user', 'content': 'Why?'}, {'role': 'assistant', 'content': '*Stopped.*'}]
    """
    if len(chat) < 2 or chat[-1]["role"] != "assistant":
        return chat
    question, reply = chat[-2]["content"], chat[-1]["content"]
    finished = history and history[-1].question == question.strip()
    if finished or reply.startswith("⚠️"):
        return chat
    text = "*Stopped.*" if reply == THINKING else f"{reply} *(stopped)*"
    return [*chat[:-1], {"role": "assistant", "content": text}]
