"""Kept conversations: each browser's (or each login's) chats, kept on disk under
``RAG_HOME/conversations`` so that they survive a reload and a restart of the server.

A conversation is one JSON file: its title, the collection it was asked in, the chat as shown,
the turns given to follow-up questions, and each completed answer as the library's ``Answer``
record (its citations, passages and timings), from which the evidence panel and the
Markdown export are rebuilt. Nothing here imports gradio.

Whose conversations they are: the login's name when the chat has a password
(``RAG_UI_AUTH``), else a random token the browser keeps in its own storage. Each owner's
files live in a folder named by a hash of the owner, and every call names its owner, so one
owner's conversation is never listed, opened, renamed or deleted through another's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.records import Answer, Citation, Hit, Turn

TITLE_CHARS = 60  # a new conversation is named after its first question, this long at most
ID = re.compile(r"[0-9a-f]{16}")

Message = dict[str, str]


@dataclass
class Conversation:
    """One kept chat. ``answers`` are the completed answers in order, one per turn of
    ``history`` (``Answer.to_dict()``); ``chat`` is what the chat shows, stopped and failed
    replies included."""

    id: str
    title: str
    collection: str
    created: str  # ISO 8601, UTC
    updated: str
    chat: list[Message] = field(default_factory=list)
    history: list[Turn] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)

    def label(self) -> str:
        """How the list of conversations names it: its title and when it last changed."""
        return f"{self.title} · {self.updated[:16].replace('T', ' ')}"

    def last_answer(self) -> Answer | None:
        return answer_of(self.answers[-1]) if self.answers else None


def new_token() -> str:
    """A browser's token: who its conversations belong to when there is no login."""
    return secrets.token_hex(16)


def owner_of(username: str | None, token: str | None) -> str | None:
    """The owner of a page's conversations: its login, else its browser's token; None when
    neither is known yet (nothing is kept then).

    >>> token = "0123456789abcdef0123456789abcdef"
    >>> owner_of("ann", token), owner_of(None, token), owner_of(None, "ab12"), owner_of(None, "")
    ('login:ann', 'browser:0123456789abcdef0123456789abcdef', None, None)
    """
    if username:
        return f"login:{username}"
    if token and re.fullmatch(r"[0-9a-f]{32}", token):
        return f"browser:{token}"
    return None


def title_of(question: str) -> str:
    """A new conversation's title: its first question, shortened at a word.

    >>> title_of("  What did the FAA estimate as the average total cost per operator of the new rule? ")
    'What did the FAA estimate as the average total cost per…'
    """
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text or "New chat"
    return text[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def export_name(title: str) -> str:
    """The file a conversation is exported to, named after its title.

    >>> export_name("Costs of the rule: what's in it?"), export_name("«»")
    ('Costs-of-the-rule-what-s-in-it.md', 'conversation.md')
    """
    stem = re.sub(r"[^A-Za-z0-9_]+", "-", title).strip("-")[:60].rstrip("-")
    return f"{stem or 'conversation'}.md"


def answer_of(data: dict[str, Any]) -> Answer:
    """The ``Answer`` record back from its ``to_dict()``."""
    data = dict(data)
    data["citations"] = [Citation(**c) for c in data.get("citations", [])]
    data["passages"] = [Hit(**h) for h in data.get("passages", [])]
    return Answer(**data)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Conversations:
    """The conversations kept under ``root`` (``RAG_HOME/conversations``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # Every read-modify-write holds it: a rename while an answer is being kept (two
        # events of one page) never loses either change.
        self._lock = threading.RLock()

    def _folder(self, owner: str) -> Path:
        return self.root / hashlib.sha256(owner.encode()).hexdigest()[:32]

    def _path(self, owner: str, conversation_id: str) -> Path | None:
        if not ID.fullmatch(conversation_id or ""):
            return None
        return self._folder(owner) / f"{conversation_id}.json"

    def listing(self, owner: str | None, collection: str) -> list[Conversation]:
        """``owner``'s conversations in ``collection``, the latest first."""
        if owner is None:
            return []
        found = []
        for path in self._folder(owner).glob("*.json"):
            conversation = self._read(path)
            if conversation is not None and conversation.collection == collection:
                found.append(conversation)
        return sorted(found, key=lambda c: (c.updated, c.created), reverse=True)

    def get(self, owner: str | None, conversation_id: str | None) -> Conversation | None:
        if owner is None or not conversation_id:
            return None
        path = self._path(owner, conversation_id)
        return self._read(path) if path is not None else None

    def save(
        self,
        owner: str | None,
        conversation_id: str | None,
        collection: str,
        chat: list[Message],
        history: list[Turn],
        answers: list[dict[str, Any]],
    ) -> Conversation | None:
        """Keep a chat as it now is: the conversation ``conversation_id``, or a new one
        (named after its first question) when it is None or unknown. Returns it; None when
        there is no owner or nothing was asked yet."""
        if owner is None or not chat:
            return None
        with self._lock:
            kept = self.get(owner, conversation_id)
            if kept is None:
                first = next((m["content"] for m in chat if m["role"] == "user"), "")
                stamp = now()
                kept = Conversation(secrets.token_hex(8), title_of(first), collection, stamp, stamp)
            kept.chat, kept.history, kept.answers = list(chat), list(history), list(answers)
            kept.updated = now()
            self._write(owner, kept)
        return kept

    def rename(self, owner: str | None, conversation_id: str | None, title: str) -> bool:
        title = " ".join(title.split())[:200]
        with self._lock:
            kept = self.get(owner, conversation_id)
            if kept is None or owner is None or not title:
                return False
            kept.title = title
            self._write(owner, kept)
        return True

    def delete(self, owner: str | None, conversation_id: str | None) -> bool:
        if owner is None or not conversation_id:
            return False
        path = self._path(owner, conversation_id)
        if path is None:
            return False
        with self._lock:
            try:
                path.unlink()
            except FileNotFoundError:
                return False
        return True

    def _write(self, owner: str, conversation: Conversation) -> None:
        """Written whole or not at all: a temporary file renamed over the old one."""
        folder = self._folder(owner)
        data = asdict(conversation)
        with self._lock:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{conversation.id}.json"
            temporary = path.with_suffix(".json.tmp")
            temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, path)

    @staticmethod
    def _read(path: Path) -> Conversation | None:
        """The conversation in ``path``; None for a missing or unreadable file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["history"] = [Turn(**t) for t in data.get("history", [])]
            return Conversation(**data)
        except (OSError, ValueError, TypeError):
            return None


def markdown(conversation: Conversation) -> str:
    """The conversation as Markdown: each question and answer, and under each answer the
    passages it cites (file, page, title, date and the supporting sentence)."""
    lines = [f"# {conversation.title}", ""]
    lines.append(
        f"Asked in the collection *{conversation.collection}*, "
        f"{conversation.created[:16].replace('T', ' ')} to "
        f"{conversation.updated[:16].replace('T', ' ')} UTC."
    )
    answers = [answer_of(a) for a in conversation.answers]
    for message in conversation.chat:
        text = message["content"].strip()
        if message["role"] == "user":
            lines += ["", f"## {' '.join(text.split())}", ""]
            continue
        lines += [text, ""]
        if answers and answers[0].answer.strip() == text:
            lines += sources(answers.pop(0))
    return "\n".join(lines).rstrip() + "\n"


def sources(answer: Answer) -> list[str]:
    """The Markdown list of the passages ``answer`` cites, each with its supporting sentence.

    >>> c = Citation(1, "report.pdf", "x", 0, 9, "Costs rose. By 5 %.", title="Costs", quote="By 5 %.", page=6)
    >>> sources(Answer("They rose by 5 % [1].", False, [c]))
    ['Sources:', '', '- [1] report.pdf, page 6, "Costs", undated', '  > By 5 %.', '']
    """
    if not answer.citations:
        return []
    lines = ["Sources:", ""]
    for c in answer.citations:
        where = [c.source]
        if c.page is not None:
            where.append(f"page {c.page}")
        if c.title:
            where.append(f'"{c.title}"')
        where.append(c.date or "undated")
        lines.append(f"- [{c.n}] {', '.join(where)}")
        quote = " ".join((c.quote or c.text).split())
        lines.append(f"  > {quote}")
    return [*lines, ""]
