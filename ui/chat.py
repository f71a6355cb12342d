"""The chat's work: answer one message, yielding each state of the page as it changes.

Plain generators and values, no gradio: ``respond`` is what the chat event runs and what
the unit tests drive with the fake models.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple

from rag.errors import RagError
from rag.records import Answer, Turn

from .render import (
    EVIDENCE_EMPTY,
    EVIDENCE_LOADING,
    EVIDENCE_SEARCHING,
    error_html,
    evidence_html,
    link_markers,
    unlink_markers,
)

THINKING = "…"
LOADING = "*Loading the models: the answer starts as soon as they are ready…*"

log = logging.getLogger("rag.ui")

Message = dict[str, str]
Halt = Literal["stop", "clear"]


class View(NamedTuple):
    """One state of the page after a step of ``respond``."""

    chat: list[Message]  # what the chat shows: {"role": ..., "content": markdown}
    evidence: str  # the evidence panel's HTML
    history: list[Turn]  # (question, final answer) pairs, for follow-ups
    answer: Answer | None = None  # the verified answer, in the view that completes it


def answer_when_ready(
    models: Any,
    model: str | None,
    message: str,
    chat: list[Message],
    history: list[Turn],
    collection: str | None = None,
    **options: Any,
) -> Iterator[View]:
    """``respond`` with the assistant for ``model`` from ``models`` (``ui.models.Models``),
    over ``collection`` (the assistant's own when None).

    A question asked before the models finished loading (typed the moment the page
    appeared) is shown at once with a note that the models are loading, and answered as soon
    as they are ready.
    """
    if message.strip() and not models.ready(model):
        waiting = [
            *chat,
            {"role": "user", "content": message},
            {"role": "assistant", "content": LOADING},
        ]
        yield View(waiting, EVIDENCE_LOADING, history)
        models.wait(model)
    try:
        assistant = models.get(model).collection(collection)
    except Exception as exc:
        text = failure_text(exc)
        yield View(
            [*chat, {"role": "assistant", "content": f"⚠️ {text}"}], error_html(text), history
        )
        return
    yield from respond(assistant, message, chat, history, **options)


def respond(
    assistant: Any,
    message: str,
    chat: list[Message] | None = None,
    history: list[Turn] | None = None,
    *,
    top_k: int | None = None,
    show_scores: bool = False,
    halted: Callable[[], Halt | None] | None = None,
    documents: list[str] | None = None,
) -> Iterator[View]:
    """Answer ``message``, yielding the page as it changes.

    First the question with a placeholder answer, then the model's raw text as it grows,
    then the verified answer (markers linked to ``#cite-n``) with its evidence. ``history``
    gains a ``Turn`` only when an answer is complete; a library error (empty question, no
    index, missing model) becomes a one-line reply and leaves ``history`` unchanged.

    ``halted()`` is asked before each new state: "stop" ends the answer where it is (marked
    stopped), "clear" ends it with an empty chat. The answer thus ends as a normal event, so
    a question asked right after Stop is never lost (see ``Halts``).
    """
    history = list(history or [])
    chat = [{**m, "content": unlink_markers(m["content"])} for m in chat or []]
    if not message or not message.strip():
        yield View(list(chat), EVIDENCE_EMPTY, history)
        return
    chat += [{"role": "user", "content": message}, {"role": "assistant", "content": THINKING}]
    yield View(list(chat), EVIDENCE_SEARCHING, history)

    def halt_view(raw: str) -> View | None:
        halt = halted() if halted else None
        if halt == "clear":
            return View([], EVIDENCE_EMPTY, [])
        if halt == "stop":
            shown = [*chat[:-1], {"role": "assistant", "content": raw or THINKING}]
            return View(stopped(shown, history), EVIDENCE_EMPTY, history)
        return None

    if (view := halt_view("")) is not None:  # halted while waiting for its turn
        yield view
        return
    stream = assistant.stream(message, history, top_k=top_k, documents=documents)
    raw = ""
    try:
        for piece in stream:
            if (view := halt_view(raw)) is not None:
                yield view
                return
            if isinstance(piece, Answer):
                cited = {c.n for c in piece.citations}
                chat[-1] = {"role": "assistant", "content": link_markers(piece.answer, cited)}
                turn = Turn(message.strip(), piece.answer)
                evidence = evidence_of(assistant, piece, show_scores)
                yield View(list(chat), evidence, [*history, turn], piece)
                return
            raw += piece
            chat[-1] = {"role": "assistant", "content": raw}
            yield View(list(chat), EVIDENCE_SEARCHING, history)
    except Exception as exc:  # a library error, or a bug: one plain sentence, never a badge
        text = failure_text(exc)
        chat[-1] = {"role": "assistant", "content": f"⚠️ {text}"}
        yield View(list(chat), error_html(text), history)
    finally:
        stream.close()  # a cancelled answer releases the model at once


def failure_text(exc: BaseException) -> str:
    """What the chat says when answering failed: the message of an error the user can act
    on, or, for anything unexpected, a plain sentence (the traceback goes to the log).

    >>> failure_text(RagError("No index yet: run `rag ingest seeds/` first."))
    'No index yet: run `rag ingest seeds/` first.'
    """
    if isinstance(exc, RagError):
        return str(exc)
    log.error("answering failed", exc_info=exc)
    return (
        f"Something went wrong while answering ({type(exc).__name__}). Please ask again; if it "
        "happens again, run `rag doctor` and see the server's log for the details."
    )


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


class Halts:
    """Stop and New chat, per browser session, without cancelling the running event.

    Gradio's own cancel leaves the browser's event pending until the server has closed the
    generator, which waits for the model's current step (up to seconds while it reads the
    prompt); a question asked in that window was silently dropped. Here the button only
    records the time, and the answer, asked before each new state whether it was halted
    after it was submitted, ends itself.

    >>> halts = Halts()
    >>> submitted = halts.now()
    >>> halts.check("tab-1", submitted) is None
    True
    >>> halts.halt("tab-1", "stop")
    >>> halts.check("tab-1", submitted), halts.check("tab-2", submitted), halts.check("tab-1", halts.now())
    ('stop', None, None)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, Halt]] = {}

    @staticmethod
    def now() -> float:
        return time.monotonic()

    def halt(self, session: str, kind: Halt) -> None:
        with self._lock:
            self._last[session] = (self.now(), kind)

    def check(self, session: str, submitted: float) -> Halt | None:
        """The last halt of ``session`` if it came after ``submitted``, else None."""
        with self._lock:
            at, kind = self._last.get(session, (float("-inf"), "stop"))
        return kind if at > submitted else None


def evidence_of(assistant: Any, answer: Answer, show_scores: bool = False) -> str:
    """The evidence panel for ``answer``: each PDF citation with its page's text from the
    index and the page as printed, the passage marked (rendered each time it is shown, never
    kept: about 175 KB a page)."""
    cited = [c for c in answer.citations if c.page is not None]
    pages = {c.n: assistant.page_of(c) for c in cited}
    images = {c.n: image.data_uri for c in cited if (image := assistant.page_image(c))}
    return evidence_html(answer, show_scores, pages, images)


def reopened(chat: list[Message], answer: Answer | None) -> list[Message]:
    """A kept chat as the page shows it: the last answer's markers link to its passages.

    >>> from rag.records import Citation
    >>> answer = Answer("90 minutes [1].", False, [Citation(1, "a.txt", "c", 0, 3, "90 minutes.")])
    >>> reopened([{"role": "user", "content": "How long?"}, {"role": "assistant", "content": "90 minutes [1]."}], answer)[-1]["content"]
    '90 minutes [\\\\[1\\\\]](#cite-1).'
    """
    chat = [dict(m) for m in chat]
    if answer is not None and chat and chat[-1]["content"] == answer.answer:
        chat[-1]["content"] = link_markers(answer.answer, {c.n for c in answer.citations})
    return chat
