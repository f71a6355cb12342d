"""Kept conversations: the store, the Markdown export, and the chat's handlers across a
restart of the app (fake models; the real browser test is in tests/test_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.records import Answer, Citation, Turn
from tests.test_ui import QUESTION, REPLY, library, make_assistant
from ui.app import build_app
from ui.conversations import Conversations, markdown, new_token, owner_of

CHAT = [
    {"role": "user", "content": "How long did it last?"},
    {"role": "assistant", "content": "About 90 minutes [1]."},
]
CITATION = Citation(
    1, "geneva.txt", "c1", 0, 40, "The meeting lasted around 90 minutes.", title="Talks",
    date="2022-01-21", quote="The meeting lasted around 90 minutes.",
)  # fmt: skip
ANSWER = Answer("About 90 minutes [1].", False, [CITATION])
__all__ = ["library"]  # the fixture, from the chat's tests


@pytest.fixture
def kept(tmp_path: Path) -> Conversations:
    return Conversations(tmp_path / "conversations")


def save(kept: Conversations, owner: str, conversation_id=None, collection="documents"):
    history = [Turn("How long did it last?", ANSWER.answer)]
    return kept.save(owner, conversation_id, collection, CHAT, history, [ANSWER.to_dict()])


def test_a_conversation_is_kept_listed_per_collection_and_read_back(kept):
    first = save(kept, "browser:a")
    other = save(kept, "browser:a", collection="manuals")
    assert first is not None and other is not None and first.id != other.id
    assert first.title == "How long did it last?"
    assert [c.id for c in kept.listing("browser:a", "documents")] == [first.id]
    back = kept.get("browser:a", first.id)
    assert back is not None
    assert back.chat == CHAT and back.history == [Turn("How long did it last?", ANSWER.answer)]
    assert back.last_answer() == ANSWER
    again = save(kept, "browser:a", first.id)  # the next question: the same conversation
    assert again is not None and again.id == first.id
    assert len(kept.listing("browser:a", "documents")) == 1


def test_one_owner_never_reaches_another_owners_conversations(kept):
    mine = save(kept, "login:ann")
    assert mine is not None
    assert kept.listing("login:bob", "documents") == []
    assert kept.get("login:bob", mine.id) is None
    assert not kept.rename("login:bob", mine.id, "Taken")
    assert not kept.delete("login:bob", mine.id)
    theirs = save(kept, "login:bob", mine.id)  # an id from elsewhere makes a new one
    assert theirs is not None and theirs.id != mine.id
    assert kept.get("login:ann", mine.id) == mine


@pytest.mark.parametrize("bad", ["", "../x", "0123456789abcdef/../x", "ZZZZZZZZZZZZZZZZ"])
def test_ids_that_are_not_conversation_ids_reach_no_file(kept, bad):
    save(kept, "browser:a")
    assert kept.get("browser:a", bad) is None
    assert not kept.delete("browser:a", bad)


def test_no_owner_keeps_nothing(kept):
    assert save(kept, None) is None  # type: ignore[arg-type]
    assert kept.listing(None, "documents") == []


def test_rename_and_delete(kept):
    conversation = save(kept, "browser:a")
    assert conversation is not None
    assert kept.rename("browser:a", conversation.id, "  Geneva   talks ")
    assert kept.listing("browser:a", "documents")[0].title == "Geneva talks"
    assert not kept.rename("browser:a", conversation.id, "   ")
    assert kept.delete("browser:a", conversation.id)
    assert kept.listing("browser:a", "documents") == []
    assert not kept.delete("browser:a", conversation.id)


def test_an_unreadable_file_is_passed_over(kept):
    conversation = save(kept, "browser:a")
    assert conversation is not None
    folder = next(kept.root.iterdir())
    (folder / "0123456789abcdef.json").write_text("{not json")
    assert [c.id for c in kept.listing("browser:a", "documents")] == [conversation.id]
    assert not list(folder.glob("*.tmp"))


def test_owners_are_logins_or_browser_tokens():
    token = new_token()
    assert owner_of("ann", token) == "login:ann"
    assert owner_of(None, token) == f"browser:{token}"
    assert owner_of(None, "../../etc") is None and owner_of(None, None) is None


def test_markdown_export_has_each_question_answer_and_its_sources(kept):
    conversation = save(kept, "browser:a")
    assert conversation is not None
    text = markdown(conversation)
    assert text.startswith("# How long did it last?\n")
    assert "## How long did it last?\n\nAbout 90 minutes [1].\n\nSources:\n" in text
    assert (
        '- [1] geneva.txt, "Talks", 2022-01-21\n  > The meeting lasted around 90 minutes.' in text
    )


def handler(demo, name: str):
    return next(f.fn for f in demo.fns.values() if f.name == name)


def request(username=None, session="tab-1"):
    return SimpleNamespace(username=username, session_hash=session)


def test_a_conversation_survives_a_restart_and_is_reopened_with_its_evidence(settings, library):
    assistant, _ = make_assistant(settings, library, REPLY)
    demo = build_app(assistant)
    restore = handler(demo, "restore")
    loaded = restore("", None, None, request())
    token = loaded[0]
    assert owner_of(None, token)  # a new browser gets its token
    views = list(
        handler(demo, "ask")(
            (QUESTION, 0.0), [], [], [], None, 4, False, None, None, None, token, request()
        )
    )
    *_, current, listing, name, export = views[-1]  # once answered, the conversation is kept
    finished = views[-2]
    assert finished[3] == [Turn(QUESTION, REPLY)] and len(finished[4]) == 1
    assert name == QUESTION and listing.value == current
    exported = Path(export).read_text()
    assert f"## {QUESTION}" in exported and "- [1] geneva.txt" in exported

    # The server restarts; the browser brings back its token and the conversation it had open.
    demo = build_app(assistant)
    back = handler(demo, "restore")(token, current, None, request())
    assert back[0] == token
    chat, evidence = back[1], back[2]
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert "(#cite-1)" in chat[-1]["content"]  # its markers link to the evidence again
    assert 'id="cite-1"' in evidence and "geneva.txt" in evidence
    assert back[4] == [Turn(QUESTION, REPLY)]  # follow-ups keep their context
    assert back[7].choices == [(listing.choices[0][0], current)]

    # Another browser, or another login, sees none of it.
    stranger = handler(demo, "restore")(new_token(), current, None, request())
    assert stranger[7].choices == []
    login = handler(demo, "restore")(token, current, None, request(username="bob"))
    assert login[7].choices == []


def test_new_chat_rename_delete_through_the_handlers(settings, library):
    assistant, _ = make_assistant(settings, library, REPLY)
    demo = build_app(assistant)
    token = new_token()
    last = list(
        handler(demo, "ask")(
            (QUESTION, 0.0), [], [], [], None, 4, False, None, None, None, token, request()
        )
    )[-1]
    current = last[5]
    cleared = handler(demo, "clear_chat")(token, None, request())
    assert cleared[:5] == ([], cleared[1], [], [], []) and cleared[5] is None
    assert [value for _, value in cleared[6].choices] == [current]  # still listed

    renamed = handler(demo, "rename_conversation")(current, "Geneva", token, None, request())
    assert renamed[1].choices[0][0].startswith("Geneva · ") and renamed[2] == "Geneva"
    kept_file = next((settings.home / "conversations").rglob(f"{current}.json"))
    assert json.loads(kept_file.read_text())["title"] == "Geneva"

    deleted = handler(demo, "delete_conversation")(current, token, None, request())
    assert deleted[0] == [] and deleted[6].choices == []
    assert not kept_file.exists()


def test_a_rename_while_an_answer_is_kept_is_never_lost(kept):
    """The page keeps a finished answer and renames the conversation from two events at
    once: whichever runs first, both changes stay."""
    import threading

    conversation = save(kept, "browser:a")
    assert conversation is not None
    for round_ in range(20):
        title = f"Name {round_}"
        threads = [
            threading.Thread(target=save, args=(kept, "browser:a", conversation.id)),
            threading.Thread(target=kept.rename, args=("browser:a", conversation.id, title)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        back = kept.get("browser:a", conversation.id)
        assert back is not None and back.title == title and back.chat == CHAT
