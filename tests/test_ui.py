"""The chat's work without a server: ``respond`` with the fake models, uploads, deletes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from rag.embedding import HashEmbedder
from rag.generation import ScriptedGenerator
from rag.records import Answer, Citation, Hit, Turn
from rag.settings import Settings
from ui import documents as docs
from ui.app import build_app
from ui.chat import LOADING, THINKING, Halts, View, answer_when_ready, respond, stopped
from ui.models import Models
from ui.render import (
    EVIDENCE_EMPTY,
    EVIDENCE_LOADING,
    EVIDENCE_SEARCHING,
    evidence_html,
    highlight,
    link_markers,
)

ONLY = ", ".join(docs.ALLOWED)
QUESTION = "How long did the meeting in Geneva last?"
REPLY = "The meeting lasted around 90 minutes [1]."
GENEVA_TEXT = (
    "Talks in Geneva\n"
    "20220121\n"
    "Blinken and Lavrov met in Geneva on Friday. The meeting lasted around 90 minutes. "
    "Both sides agreed to keep talking.\n"
)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "geneva.txt").write_text(GENEVA_TEXT)
    return folder


def make_assistant(settings: Settings, library: Path, script) -> tuple:
    from rag.assistant import Assistant

    generator = ScriptedGenerator(script)
    assistant = Assistant(
        settings.with_(min_relevance=-1.0), embedder=HashEmbedder(dim=256), generator=generator
    )
    assistant.ingest([library])
    return assistant, generator


@pytest.fixture
def geneva(settings: Settings, library: Path):
    return make_assistant(settings, library, REPLY)


def contents(view) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in view.chat]


# -- respond -----------------------------------------------------------------------------
def test_answer_streams_word_by_word_then_shows_the_verified_answer(geneva):
    assistant, _ = geneva
    views = list(respond(assistant, QUESTION))

    assert contents(views[0]) == [("user", QUESTION), ("assistant", THINKING)]
    assert views[0].evidence == EVIDENCE_SEARCHING
    words = REPLY.split(" ")
    streamed = [view.chat[-1]["content"] for view in views[1:-1]]
    assert streamed == [" ".join(words[: i + 1]) for i in range(len(words))]
    assert all(view.history == [] for view in views[:-1])

    final = views[-1]
    assert contents(final) == [
        ("user", QUESTION),
        ("assistant", "The meeting lasted around 90 minutes [\\[1\\]](#cite-1)."),
    ]
    assert final.history == [Turn(QUESTION, REPLY)]


def test_evidence_shows_only_the_cited_passage_with_the_quote_marked(geneva):
    assistant, _ = geneva
    final = list(respond(assistant, QUESTION))[-1]

    assert final.evidence.count('<article class="cite"') == 1
    assert '<article class="cite" id="cite-1">' in final.evidence
    assert '<span class="source">geneva.txt</span>' in final.evidence
    assert '<span class="date">2022-01-21</span>' in final.evidence
    assert '<div class="title">Talks in Geneva</div>' in final.evidence
    assert "<mark>The meeting lasted around 90 minutes.</mark>" in final.evidence
    assert "score" not in final.evidence


def test_show_scores_adds_the_retrieval_scores(geneva):
    assistant, _ = geneva
    final = list(respond(assistant, QUESTION, show_scores=True))[-1]
    assert '<span class="score">score ' in final.evidence
    assert "All passages shown to the model" in final.evidence


def test_abstention_says_so_and_lists_what_was_looked_at(settings, library):
    assistant, _ = make_assistant(settings, library, "NOT FOUND")
    final = list(respond(assistant, "Who won the 1998 World Cup?"))[-1]

    assert contents(final)[-1] == ("assistant", "The documents don't say.")
    assert '<p class="verdict">The documents don&#x27;t say.</p>' in final.evidence
    assert "Looked at:" in final.evidence
    assert '<span class="source">geneva.txt</span>' in final.evidence
    assert "Talks in Geneva 20220121 Blinken and Lavrov met in Geneva on Friday." in final.evidence
    assert "<mark>" not in final.evidence
    assert final.history == [Turn("Who won the 1998 World Cup?", "The documents don't say.")]


def test_follow_up_passes_the_previous_question_and_final_answer(geneva):
    assistant, generator = geneva
    first = list(respond(assistant, "When did Blinken and Lavrov meet in Geneva?"))[-1]
    second = list(respond(assistant, "How long did it last?", first.chat, first.history))[-1]

    asked = generator.calls[-1]
    assert asked[1:3] == [
        {"role": "user", "content": "When did Blinken and Lavrov meet in Geneva?"},
        {"role": "assistant", "content": REPLY},
    ]
    assert asked[-1]["role"] == "user" and "How long did it last?" in asked[-1]["content"]
    assert second.history == [
        Turn("When did Blinken and Lavrov meet in Geneva?", REPLY),
        Turn("How long did it last?", REPLY),
    ]
    # Only the latest answer links to the evidence panel, which shows only its passages.
    assert [m["content"] for m in second.chat if m["role"] == "assistant"] == [
        REPLY,
        "The meeting lasted around 90 minutes [\\[1\\]](#cite-1).",
    ]


def test_a_library_error_becomes_a_reply_and_keeps_the_history(geneva):
    assistant, generator = geneva
    earlier = [Turn("q", "a")]
    views = list(respond(assistant, "x" * 2001, [], earlier))

    assert contents(views[-1])[-1] == (
        "assistant",
        "⚠️ The question is 2,001 characters; the limit is 2,000 (RAG_MAX_QUESTION_CHARS): shorten it.",
    )
    assert views[-1].history == earlier
    assert generator.calls == []


def test_an_unexpected_error_becomes_a_plain_sentence_and_is_logged(geneva, caplog):
    assistant, _ = geneva

    def broken(*_args, **_kwargs):
        yield "The meeting"
        raise KeyError("/home/user/.rag/chroma")

    assistant.stream = broken
    with caplog.at_level("ERROR", logger="rag.ui"):
        views = list(respond(assistant, QUESTION, [], []))
    reply = views[-1].chat[-1]["content"]
    assert reply == (
        "⚠️ Something went wrong while answering (KeyError). Please ask again; if it happens "
        "again, run `rag doctor` and see the server's log for the details."
    )
    assert "Something went wrong" in views[-1].evidence and views[-1].history == []
    assert "KeyError: '/home/user/.rag/chroma'" in caplog.text  # the traceback, in the log


def test_a_question_asked_while_the_models_load_waits_for_them_and_says_so(geneva):
    assistant, _ = geneva
    loaded = threading.Event()
    assistant.warm_up = lambda: loaded.wait(30)
    models = Models(assistant)
    models.warm()
    views = answer_when_ready(models, None, QUESTION, [], [])
    first = next(views)
    assert contents(first) == [("user", QUESTION), ("assistant", LOADING)]
    assert first.evidence == EVIDENCE_LOADING and first.history == []
    threading.Timer(0.3, loaded.set).start()
    rest = list(views)
    assert contents(rest[0]) == [("user", QUESTION), ("assistant", THINKING)]
    assert rest[-1].history == [Turn(QUESTION, REPLY)]
    assert models.ready()


def test_a_question_asked_when_the_models_are_ready_starts_at_once(geneva):
    assistant, _ = geneva
    models = Models(assistant)
    models.wait()
    views = list(answer_when_ready(models, None, QUESTION, [], []))
    assert contents(views[0]) == [("user", QUESTION), ("assistant", THINKING)]
    assert views[-1].history == [Turn(QUESTION, REPLY)]


def test_an_empty_message_changes_nothing(geneva):
    assistant, generator = geneva
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert list(respond(assistant, "   ", chat, [Turn("hi", "hello")])) == [
        View(chat, EVIDENCE_EMPTY, [Turn("hi", "hello")])
    ]
    assert generator.calls == []


def test_stop_ends_the_answer_where_it_is_and_keeps_it_out_of_the_history(geneva):
    assistant, _ = geneva
    halts, asked = Halts(), Halts.now()
    views = respond(assistant, QUESTION, halted=lambda: halts.check("tab", asked))
    next(views), next(views), next(views)  # placeholder, "The", "The meeting"
    halts.halt("tab", "stop")  # the Stop button, from another thread
    rest = list(views)
    assert len(rest) == 1
    assert contents(rest[0])[-1] == ("assistant", "The meeting *(stopped)*")
    assert rest[0].history == [] and rest[0].evidence == EVIDENCE_EMPTY


def test_new_chat_during_an_answer_ends_it_with_an_empty_chat(geneva):
    assistant, _ = geneva
    halts, asked = Halts(), Halts.now()
    views = respond(assistant, QUESTION, halted=lambda: halts.check("tab", asked))
    next(views), next(views)
    halts.halt("tab", "clear")
    assert list(views) == [View([], EVIDENCE_EMPTY, [])]


def test_a_question_halted_before_its_turn_never_reaches_the_model(geneva):
    assistant, generator = geneva
    halts = Halts()
    asked = Halts.now()
    halts.halt("tab", "stop")
    views = list(respond(assistant, QUESTION, halted=lambda: halts.check("tab", asked)))
    assert contents(views[-1]) == [("user", QUESTION), ("assistant", "*Stopped.*")]
    assert generator.calls == []
    later = Halts.now()  # a halt only ends the questions asked before it
    assert list(respond(assistant, QUESTION, halted=lambda: halts.check("tab", later)))[
        -1
    ].history == [Turn(QUESTION, REPLY)]


def test_stopping_mid_answer_releases_the_stream(geneva):
    assistant, generator = geneva
    views = respond(assistant, QUESTION)
    next(views), next(views)
    views.close()  # a closed generator (a browser that went away) frees the model
    assert list(respond(assistant, QUESTION))[-1].history == [Turn(QUESTION, REPLY)]
    assert len(generator.calls) == 2


@pytest.mark.parametrize(
    ("reply", "history", "expected"),
    [
        (THINKING, [], "*Stopped.*"),
        ("The meeting", [], "The meeting *(stopped)*"),
        ("Done [1].", [Turn("Why?", "Done [1].")], "Done [1]."),
        ("⚠️ The question is empty.", [], "⚠️ The question is empty."),
    ],
)
def test_stop_marks_only_an_unfinished_answer(reply, history, expected):
    chat = [{"role": "user", "content": "Why?"}, {"role": "assistant", "content": reply}]
    assert stopped(chat, history)[-1] == {"role": "assistant", "content": expected}
    assert stopped([], []) == []


# -- rendering ---------------------------------------------------------------------------
def test_everything_from_documents_is_escaped():
    answer = Answer(
        "It was <b>90</b> minutes [1].",
        False,
        [
            Citation(
                1,
                "<x>.txt",
                "c1",
                0,
                30,
                "A <script>x</script>. It was 90.",
                "T&C",
                "2022-01-21",
                "It was 90.",
            )
        ],
        {"total": 1500.0},
        [Hit("<x>.txt", "c1", 0.5, "A <script>x</script>. It was 90.", 0, 30)],
        "m",
    )
    out = evidence_html(answer)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<span class="source">&lt;x&gt;.txt</span>' in out
    assert '<div class="title">T&amp;C</div>' in out
    assert "<mark>It was 90.</mark>" in out
    assert "total 1.5 s · m" in out
    answer.confidence = 0.734
    assert "model confidence 73 % · total 1.5 s · m" in evidence_html(answer)


@pytest.mark.parametrize(
    ("text", "quote", "expected"),
    [
        ("One. Two.", "Two.", "One. <mark>Two.</mark>"),
        ("One.\nTwo  words.", "Two words.", "One.\n<mark>Two  words.</mark>"),
        ("One.", "Absent.", "One."),
        ("One.", "", "One."),
        ("", "", ""),
    ],
)
def test_highlight(text, quote, expected):
    assert highlight(text, quote) == expected


def test_markers_of_uncited_passages_stay_plain():
    assert link_markers("A [1][2]. B [2, 3].", {2}) == (
        "A [1][\\[2\\]](#cite-2). B [\\[2\\]](#cite-2)[3]."
    )


# -- documents ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.txt", "notes.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\secret.md", "secret.md"),
        ("My notes (v2).md", "My_notes_v2_.md"),
        (".hidden.txt", "hidden.txt"),
        ("résumé.TXT", "r_sum_.TXT"),
    ],
)
def test_upload_names_are_sanitised(name, expected):
    assert docs.safe_name(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("slides.pptx", f"slides.pptx: only {ONLY} files can be uploaded, not .pptx files."),
        ("../run.sh", f"run.sh: only {ONLY} files can be uploaded, not .sh files."),
        ("README", f"README: only {ONLY} files can be uploaded, and this one has no extension."),
        ("...txt", f"...txt: only {ONLY} files can be uploaded, and this one has no extension."),
        ("__.md", "'__.md' has no usable file name: rename it and upload it again."),
    ],
)
def test_unusable_upload_names_are_refused(name, message):
    assert ONLY.startswith(".txt, .md") and ".pdf" in ONLY and ".docx" in ONLY
    from rag.errors import InputError

    with pytest.raises(InputError) as error:
        docs.safe_name(name)
    assert str(error.value) == message


def test_upload_indexes_the_file_and_refuses_others(geneva, tmp_path):
    assistant, _ = geneva
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "zorblat.txt").write_text("The Zorblat festival was held in Tallinn on 3 May.\n")
    (incoming / "slides.pptx").write_bytes(b"PK")
    (incoming / "broken.pdf").write_bytes(b"%PDF-1.4")

    message = docs.upload(
        assistant, [incoming / n for n in ("zorblat.txt", "slides.pptx", "broken.pdf")]
    )

    assert message == (
        "Added zorblat.txt. 2 chunks in the index.\n\n"
        "Skipped broken.pdf: not a readable PDF: the file is damaged or has no pages.\n\n"
        f"Refused slides.pptx: only {ONLY} files can be uploaded, not .pptx files."
    )
    assert sorted(p.name for p in assistant.settings.uploads.iterdir()) == ["zorblat.txt"]
    assert sorted(d.source for d in assistant.documents()) == ["geneva.txt", "zorblat.txt"]


def test_upload_over_25_mb_is_refused(geneva, tmp_path):
    assistant, _ = geneva
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(25 * 1024 * 1024 + 1)
    assert (
        docs.upload(assistant, [big]) == "Refused big.txt is 25.0 MB; uploads are limited to 25 MB."
    )
    assert not assistant.settings.uploads.exists() or not any(assistant.settings.uploads.iterdir())


def test_nothing_chosen_to_upload(geneva):
    assistant, _ = geneva
    assert docs.upload(assistant, None) == (
        "Choose one or more files first (PDF, Word, web pages, text)."
    )


def test_delete_an_upload_removes_it_from_the_index_and_the_uploads_folder(geneva, tmp_path):
    assistant, _ = geneva
    note = tmp_path / "zorblat.txt"
    note.write_text("The Zorblat festival was held in Tallinn on 3 May.\n")
    docs.upload(assistant, [note])

    assert (
        docs.delete(assistant, "zorblat.txt")
        == "Deleted zorblat.txt and its uploaded copy (1 file)."
    )
    assert [d.source for d in assistant.documents()] == ["geneva.txt"]
    assert not (assistant.settings.uploads / "zorblat.txt").exists()
    assert note.exists()


def test_delete_a_document_outside_uploads_leaves_its_file(geneva, library):
    assistant, _ = geneva
    assert docs.delete(assistant, "geneva.txt") == "Deleted geneva.txt (1 file)."
    assert assistant.documents() == []
    assert (library / "geneva.txt").exists()


def test_delete_unknown_or_nothing(geneva):
    assistant, _ = geneva
    assert docs.delete(assistant, "nope.txt") == "No document named nope.txt is in the index."
    assert (
        docs.delete(assistant, "../geneva.txt")
        == "No document named ../geneva.txt is in the index."
    )
    assert docs.delete(assistant, None) == "Choose a document to delete."


def test_reindex_ingests_the_project_seeds_and_uploads(geneva):
    assistant, _ = geneva
    seeds = sorted(p.name for p in docs.SEEDS.iterdir() if p.suffix == ".txt")
    message = docs.reindex(assistant)
    assert message.startswith(f"Added {', '.join(seeds)}.")
    assert sorted(d.source for d in assistant.documents()) == sorted(["geneva.txt", *seeds])
    assert docs.reindex(assistant).startswith(f"{len(seeds)} unchanged.")


# -- the app -----------------------------------------------------------------------------
def test_the_app_answers_one_question_at_a_time(geneva):
    import gradio as gr

    assistant, _ = geneva
    demo = build_app(assistant)
    assert isinstance(demo, gr.Blocks)
    chat = [fn for fn in demo.fns.values() if fn.name == "ask"]
    assert len(chat) == 1
    assert (chat[0].concurrency_limit, chat[0].concurrency_id) == (1, "model")  # RAG_PARALLEL
    assert chat[0].queue is not False


def test_models_warm_up_in_the_background(geneva):
    assistant, _ = geneva
    models = Models(assistant)
    assert models.status() == (
        f'<span class="dot loading"></span> Loading models ({assistant.settings.model})…',
        False,
    )
    models.warm()
    models._threads[assistant.settings.model].join(10)
    assert models.status() == ('<span class="dot ready"></span> Ready · scripted', True)


def test_a_model_that_cannot_load_is_reported(geneva):
    assistant, _ = geneva
    models = Models(assistant)
    models.warm("/nowhere/model.gguf")
    models._threads["/nowhere/model.gguf"].join(60)
    text, settled = models.status("/nowhere/model.gguf")
    assert settled
    assert text == (
        '<span class="dot failed"></span> Could not load /nowhere/model.gguf: '
        "RAG_MODEL='/nowhere/model.gguf' is neither a preset (qwen2.5-coder-0.5b, "
        "qwen2.5-coder-1.5b, smollm2-135m) nor a GGUF file."
    )


def test_importing_ui_does_not_import_gradio():
    import subprocess
    import sys

    code = "import sys, ui; print('gradio' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ},
    )
    assert out.stdout.strip() == "False"


def test_launch_serves_locally_with_auth_and_no_share(settings):
    from ui.app import launch

    class Demo:
        def launch(self, **options):
            self.options = options

    demo = Demo()
    launch(demo, settings.with_(ui_auth="ada:s3cret:x", ui_port=7999))
    assert {
        k: demo.options[k]
        for k in ("server_name", "server_port", "share", "auth", "prevent_thread_lock")
    } == {
        "server_name": "127.0.0.1",
        "server_port": 7999,
        "share": False,
        "auth": ("ada", "s3cret:x"),
        "prevent_thread_lock": False,
    }
    launch(demo, settings, port=8001, block=False)
    assert (
        demo.options["auth"],
        demo.options["server_port"],
        demo.options["prevent_thread_lock"],
    ) == (None, 8001, True)


@pytest.mark.parametrize("module", ["ui.render", "ui.documents", "ui.chat"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


# -- progress of uploads and re-indexing ----------------------------------------------
def handler(demo, name: str):
    return next(fn for fn in demo.fns.values() if fn.name == name)


def test_an_upload_streams_the_file_and_its_pages_then_the_summary(
    geneva, tmp_path, monkeypatch
):
    import gradio as gr

    import rag.ingest
    from tests.test_files import PDF

    monkeypatch.setattr(rag.ingest, "PAGES_TO_REPORT", 10)  # the 15-page PDF reports its pages
    assistant, _ = geneva
    slides = tmp_path / "slides.pptx"
    slides.write_bytes(b"PK")
    add = handler(build_app(assistant), "add_files")
    assert (add.concurrency_limit, add.concurrency_id) == (1, "index")

    views = list(add.fn([str(PDF), str(slides)], assistant.settings.collection))

    notes = [view[2] for view in views]
    name = PDF.name
    pages = [f"Reading {name}: page {n} of 15" for n in range(1, 16)]
    assert notes[: len(pages) + 2] == [
        f"Adding {name}, slides.pptx…",
        *pages,
        f"Read {name} (1 of 1 file)",
    ]
    assert notes[-2].startswith("Embedding ") and notes[-2].endswith(" chunks")
    assert notes[-1].startswith(f"Added {name}. ")
    assert notes[-1].endswith(
        f"\n\nRefused slides.pptx: only {ONLY} files can be uploaded, not .pptx files."
    )
    # While it runs only the note changes; at the end the documents, the time the index
    # changed, and the picker is cleared.
    assert all(v[0] == gr.skip() and v[-1] == gr.skip() for v in views[:-1])
    final = views[-1]
    assert name in [row[0] for row in final[0]]
    assert final[5] == docs.changed_line(assistant.last_changed())
    assert final[-1] is None


def test_reindex_streams_each_file_then_what_changed(geneva):
    assistant, _ = geneva
    seeds = sorted(p.name for p in docs.SEEDS.iterdir() if p.suffix == ".txt")
    notes = list(docs.reindex_steps(assistant))
    assert notes[0] == "Re-indexing…"
    read = [n for n in notes if n.startswith("Read ")]
    assert len(read) == len(seeds)
    assert read[-1].endswith(f"({len(seeds)} of {len(seeds)} files)")
    assert any(n.startswith("Embedding ") for n in notes)
    assert notes[-1].startswith(f"Added {', '.join(seeds)}.")


def test_an_ingest_error_is_the_last_message(geneva, tmp_path, monkeypatch):
    from rag.errors import RagError

    assistant, _ = geneva

    def broken(paths, progress=None):
        progress(0, 1, "a.pdf, page 1 of 30")
        raise RagError("the index is locked")

    monkeypatch.setattr(assistant, "ingest", broken)
    note = tmp_path / "a.txt"
    note.write_text("text\n")
    assert list(docs.upload_steps(assistant, [note])) == [
        "Adding a.txt…",
        "Reading a.pdf: page 1 of 30",
        "Saved the files but could not index them: the index is locked",
    ]


# -- when the index last changed ------------------------------------------------------
def test_the_documents_panel_says_when_the_index_last_changed(geneva, tmp_path):
    assistant, _ = geneva
    demo = build_app(assistant)
    before = assistant.last_changed()
    assert before is not None
    shown = handler(demo, "documents_view").fn(assistant.settings.collection)
    assert shown[5] == docs.changed_line(before)
    assert shown[5].startswith("Index last changed 20") and shown[5].endswith(" UTC")

    note = tmp_path / "zorblat.txt"
    note.write_text("The Zorblat festival was held in Tallinn on 3 May.\n")
    *_, final = handler(demo, "add_files").fn([str(note)], assistant.settings.collection)
    after = assistant.last_changed()
    assert after is not None and after > before
    assert final[5] == docs.changed_line(after)


def test_the_changed_line_reads_iso_times_in_utc():
    line = "Index last changed 2026-12-07 14:52 UTC"
    assert docs.changed_line("2026-12-07T15:52:00+01:00") == line
    assert docs.changed_line("2026-12-07T14:52:59Z") == line
    assert docs.changed_line("") == "Nothing indexed yet."
    assert docs.changed_line(None) == "Nothing indexed yet."
