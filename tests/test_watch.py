"""Watched folders (``Assistant.watch``, ``rag ingest --watch``): files dropped in, changed,
renamed and deleted reach the index within seconds, each change once; bad files are skipped
with a reason; stopping (a stop event, or Ctrl-C for the command) leaves whole documents.

The fake embedder does the embedding; the one test of the installed `rag` command, whose
child process loads the real model, is marked ``real``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.embedding import HashEmbedder
from rag.records import IndexChange, IngestReport
from rag.settings import PROJECT_ROOT
from tests.conftest import SEEDS
from tests.test_reliability import assert_consistent

FILES = PROJECT_ROOT / "tests" / "files"
WIKIMEDIA = "wikimedia-foundation-turkey-2020-01-15.html"
DEADLINE = 10.0  # seconds a change may take to reach the index
SETTLE = 0.5  # seconds a file must be still before it is applied (the default is 1)


def eventually(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


class Watching:
    """``Assistant.watch`` on a thread of its own, with the changes it reported."""

    def __init__(self, assistant: Assistant, folder: Path) -> None:
        self.assistant = assistant
        self.changes: list[IndexChange] = []
        self.first: list[IngestReport] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(folder,), daemon=True)
        self.thread.start()
        eventually(lambda: bool(self.first or self.errors), "watching began")
        assert not self.errors, self.errors

    def _run(self, folder: Path) -> None:
        try:
            self.assistant.watch(
                [folder],
                on_change=self.changes.append,
                stop=self.stop,
                on_ready=self.first.append,
                settle=SETTLE,
            )
        except BaseException as exc:  # reported by the test, not lost on the thread
            self.errors.append(exc)

    def kinds(self) -> Counter[tuple[str, str]]:
        return Counter((c.kind, c.source) for c in self.changes)

    def sources(self) -> set[str]:
        return {d.source for d in self.assistant.documents()}

    def finds(self, query: str, source: str) -> bool:
        """Whether searching ``query`` finds a passage of ``source`` holding its last word."""
        word = query.split()[-1]
        hits = self.assistant.retriever.search(query, k=10)
        return any(h.source == source and word in h.text for h in hits)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "watching did not stop"
        assert not self.errors, self.errors


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "watched"
    path.mkdir()
    (path / "first.txt").write_text(
        "The harbour committee met in Valparaiso to discuss dredging.\n"
    )
    return path


@pytest.fixture
def watching(assistant: Assistant, folder: Path) -> Iterator[Watching]:
    w = Watching(assistant, folder)
    yield w
    w.close()


def test_the_first_ingest_comes_before_watching(watching, folder):
    assert watching.first[0].added == ["first.txt"]
    assert "first.txt" in watching.sources()
    assert watching.changes == []


def test_new_changed_renamed_and_removed_files_reach_the_index_within_seconds(watching, folder):
    seeds = {p.name for p in SEEDS.iterdir()}
    before = watching.assistant.last_changed()
    assert before is not None

    shutil.copy(FILES / WIKIMEDIA, folder / WIKIMEDIA)
    eventually(lambda: watching.finds("Access restored in Turkey to Wikipedia", WIKIMEDIA), "added")

    note = folder / "note.txt"
    note.write_text("The quarterly budget meeting will be held in Lisbon on Tuesday.\n")
    eventually(lambda: watching.finds("quarterly budget meeting Lisbon", "note.txt"), "note added")
    later = watching.assistant.last_changed()
    assert later is not None and later > before

    # Saved as editors do: a hidden temporary file renamed over the old one.
    temporary = folder / ".note.txt.tmp"
    temporary.write_text("The quarterly budget meeting moved to Oslo, on Thursday.\n")
    os.replace(temporary, note)
    eventually(lambda: watching.finds("quarterly budget meeting Oslo", "note.txt"), "note updated")
    assert not watching.finds("quarterly budget meeting Lisbon", "note.txt")

    (folder / "archive").mkdir()
    (folder / WIKIMEDIA).rename(folder / "archive" / "turkey.html")
    eventually(lambda: "turkey.html" in watching.sources(), "renamed file added")
    eventually(lambda: WIKIMEDIA not in watching.sources(), "old name removed")
    assert watching.finds("Access restored in Turkey to Wikipedia", "turkey.html")

    note.unlink()
    eventually(lambda: "note.txt" not in watching.sources(), "note removed")
    # Reported once in the index: the report may come a moment after.
    eventually(lambda: ("removed", "note.txt") in watching.kinds(), "removal reported")
    assert not watching.finds("quarterly budget meeting Oslo", "note.txt")
    assert not watching.finds("quarterly budget meeting Lisbon", "note.txt")

    assert watching.kinds() == Counter(
        [
            ("added", WIKIMEDIA),
            ("added", "note.txt"),
            ("updated", "note.txt"),
            ("added", "turkey.html"),
            ("removed", WIKIMEDIA),
            ("removed", "note.txt"),
        ]
    )
    assert watching.sources() == seeds | {"first.txt", "turkey.html"}
    assert_consistent(watching.assistant)


def test_a_file_written_in_bursts_is_ingested_once_after_it_settles(watching, folder):
    slow = folder / "slow.md"
    with slow.open("w") as out:
        for i in range(8):  # 8 writes 0.1 s apart: one file, one change
            out.write(f"Paragraph {i} of the minutes of the Tallinn shipping conference.\n\n")
            out.flush()
            time.sleep(0.1)
    eventually(lambda: watching.finds("shipping conference Tallinn", "slow.md"), "added")
    # A file dropped after it is applied after it: by then any second change to slow.md is in.
    (folder / "sentinel.txt").write_text("Sentinel text about lighthouses.\n")
    eventually(lambda: ("added", "sentinel.txt") in watching.kinds(), "sentinel added")
    assert [c.kind for c in watching.changes if c.source == "slow.md"] == ["added"]
    (chunks,) = [d.chunks for d in watching.assistant.documents() if d.source == "slow.md"]
    hits = watching.assistant.retriever.search("Paragraph 7 of the minutes", k=20)
    assert chunks >= 1 and any("Paragraph 7" in h.text for h in hits if h.source == "slow.md")


def test_bad_files_are_skipped_with_a_reason_and_nothing_else_is_lost(watching, folder):
    before = {d.source: d.chunks for d in watching.assistant.documents()}
    (folder / "junk.pdf").write_bytes(os.urandom(2048))
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n")  # not a document type: not watched
    (folder / "good.txt").write_text("The ferry timetable for Helsinki changes in spring.\n")
    eventually(lambda: ("added", "good.txt") in watching.kinds(), "good file added")
    eventually(lambda: {"junk.pdf", "empty.pdf"} <= {c.source for c in watching.changes}, "skips")
    skipped = {c.source: c.reason for c in watching.changes if c.kind == "skipped"}
    assert set(skipped) == {"junk.pdf", "empty.pdf"}
    assert skipped["empty.pdf"] == "empty file"
    assert skipped["junk.pdf"] and "\n" not in skipped["junk.pdf"]
    after = {d.source: d.chunks for d in watching.assistant.documents()}
    assert after == {**before, "good.txt": 1}
    assert watching.finds("ferry timetable Helsinki", "good.txt")
    assert_consistent(watching.assistant)


def test_a_file_replaced_by_a_bad_one_keeps_its_last_good_version(watching, folder):
    (folder / "first.txt").write_bytes(b"\x00\x01\x02 binary now")
    eventually(lambda: ("skipped", "first.txt") in watching.kinds(), "skipped")
    assert watching.finds("harbour committee dredging Valparaiso", "first.txt")


def test_last_changed_is_none_before_anything_is_written_and_a_time_after(
    settings, embedder, tmp_path
):
    fresh = Assistant(settings, embedder=embedder)
    assert fresh.last_changed() is None
    (tmp_path / "a.txt").write_text("Blinken met Lavrov in Geneva.")
    fresh.ingest([tmp_path / "a.txt"])
    stamp = fresh.last_changed()
    assert stamp is not None and stamp.endswith("+00:00") and stamp[:4].isdigit()
    fresh.ingest([tmp_path / "a.txt"])  # nothing changed: nor does the time
    assert fresh.last_changed() == stamp
    assert (
        Assistant(settings.with_(collection="elsewhere"), embedder=embedder).last_changed() is None
    )


def test_watching_a_single_file_sees_it_replaced_and_removed(assistant, tmp_path):
    folder = tmp_path / "single"
    folder.mkdir()
    target = folder / "only.txt"
    target.write_text("The observatory in La Silla recorded a comet.\n")
    (folder / "other.txt").write_text("Not watched: the bakery in Ghent sells waffles.\n")
    w = Watching(assistant, target)
    try:
        assert w.first[0].added == ["only.txt"]
        (folder / "other.txt").write_text("Still not watched: waffles in Bruges.\n")
        replacement = folder / "only.txt.new"
        replacement.write_text("The observatory in La Silla recorded two comets and a nova.\n")
        os.replace(replacement, target)
        eventually(lambda: w.finds("observatory La Silla nova", "only.txt"), "replaced")
        target.unlink()
        eventually(lambda: "only.txt" not in w.sources(), "removed")
        eventually(lambda: ("removed", "only.txt") in w.kinds(), "removal reported")
        assert w.kinds() == Counter([("updated", "only.txt"), ("removed", "only.txt")])
        assert "other.txt" not in w.sources()
    finally:
        w.close()


def test_what_is_watched(tmp_path):
    """Documents under a watched folder or named alone, and folders and paths now gone (which
    may have held documents); not hidden files, editors' backups, other types or the index."""
    from rag.watch import _Scope

    tmp_path = tmp_path.resolve()  # as the watchers report paths
    folder, elsewhere = tmp_path / "papers", tmp_path / "elsewhere"
    (folder / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (folder / "photo.png").write_bytes(b"png")
    (folder / "a.txt").write_text("a")
    (elsewhere / "one.md").write_text("one")
    (elsewhere / "two.md").write_text("two")
    scope = _Scope([folder, elsewhere / "one.md"], ignore=[folder / "index"])
    wanted = {
        "papers/a.txt": True,
        "papers/sub": True,
        "papers/sub/gone.pdf": True,
        "papers/gone-folder": True,
        "papers": True,
        "elsewhere/one.md": True,
        "elsewhere/two.md": False,
        "papers/photo.png": False,
        "papers/.hidden.txt": False,
        "papers/.git/notes.md": False,
        "papers/a.txt~": False,
        "papers/~$report.docx": False,
        "papers/index/chroma.sqlite3": False,
        "papers/index/notes.md": False,
    }
    assert {p: scope.wanted(str(tmp_path / p)) for p in wanted} == wanted
    assert scope.watches() == [([folder], True), ([elsewhere], False)]


# -- the command ---------------------------------------------------------------------------
# `rag ingest --watch` in a child process, with the fake embedder put where the CLI finds its
# model (as tests/test_reliability.py does in-process).
CHILD = """
import sys
import rag.retrieval
from rag.embedding import HashEmbedder

rag.retrieval.embedder_for = lambda *a, **k: HashEmbedder(256)
from rag.cli import cli

cli(["ingest", "--watch", *sys.argv[1:]], prog_name="rag")
"""


class Lines:
    """A child's stdout and stderr, read on threads as they are written."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((proc.stdout, self.out), (proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))


def interrupt_after_changes(command: list[str], folder: Path, timeout: float, **popen) -> Lines:
    """Run ``command`` (watching ``folder``), add one file and delete another, then Ctrl-C it;
    asserts each step and the exit status 130."""
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal, even when the tests themselves run as a background job
        # (which starts every child with SIGINT ignored).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **popen,
    )
    lines = Lines(proc)
    try:
        eventually(lambda: any(e.startswith("Watching") for e in lines.err), "watching", timeout)
        assert lines.out[0].startswith("1 added, 0 updated, 0 unchanged, 0 removed, 0 skipped;")
        (folder / "b.txt").write_text("The lighthouse keepers of Brest went on strike.\n")
        eventually(lambda: any(o.endswith(" added b.txt") for o in lines.out), "added", timeout)
        (folder / "a.txt").unlink()
        eventually(lambda: any(o.endswith(" removed a.txt") for o in lines.out), "removed")
        if popen.get("start_new_session"):
            os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole group
        else:
            proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130, lines.err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    eventually(lambda: any("Stopped watching" in e for e in lines.err), "the last words", 5)
    assert not any("Traceback" in e for e in lines.err), lines.err
    return lines


def test_ingest_watch_applies_changes_and_ctrl_c_exits_130_with_a_clean_index(settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Blinken met Lavrov in Geneva on Friday.\n")
    lines = interrupt_after_changes(
        [sys.executable, "-c", CHILD, str(folder)], folder, timeout=60, cwd=PROJECT_ROOT
    )
    assert [o.split(" ", 1)[1] for o in lines.out[1:]] == ["added b.txt", "removed a.txt"]
    after = Assistant(settings, embedder=HashEmbedder(256))
    assert [d.source for d in after.documents()] == ["b.txt"]
    assert_consistent(after)


def test_ingest_watch_help_documents_the_flag():
    from click.testing import CliRunner

    from rag.cli import cli

    result = CliRunner().invoke(cli, ["ingest", "--help"])
    assert "--watch" in result.output and "Ctrl-C" in result.output


@pytest.mark.real
def test_the_installed_command_watches_and_stops_on_ctrl_c(tmp_path, settings, real_embedder):
    """`rag ingest --watch` as a user runs it (the crash-guarding parent and its child, the
    real embedding model), stopped by Ctrl-C sent to its process group as a terminal does."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Blinken met Lavrov in Geneva on Friday.\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    rag = str(Path(sys.executable).parent / "rag")
    interrupt_after_changes(
        [rag, "ingest", "--watch", str(folder)],
        folder,
        timeout=300,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    after = Assistant(settings, embedder=real_embedder)
    assert [d.source for d in after.documents()] == ["b.txt"]
    assert_consistent(after)


# -- the browser chat's watcher (`rag ui --watch`, ui.app.start_watching) --------------------
def ui_watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rag-ui-watch"]


def sources_of(assistant: Assistant) -> set[str]:
    return {d.source for d in assistant.documents()}


def test_the_chat_keeps_a_watched_folder_in_the_index_until_stopped(assistant, folder, capsys):
    from ui.app import start_watching

    stop = start_watching(assistant, [folder], settle=SETTLE)
    try:
        eventually(lambda: "first.txt" in sources_of(assistant), "the first ingest")
        note = folder / "zorblat.txt"
        note.write_text("The Zorblat festival of board games was held in Tallinn on 3 May.\n")
        eventually(lambda: "zorblat.txt" in sources_of(assistant), "added")
        hits = assistant.retriever.search("Zorblat festival Tallinn", k=3)
        assert hits[0].source == "zorblat.txt"
        note.unlink()
        eventually(lambda: "zorblat.txt" not in sources_of(assistant), "removed")
    finally:
        stop.set()
    eventually(lambda: not ui_watchers(), "the watcher's thread ended")
    said = [line.split(" ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert (
        said[0]
        == f"Watching {folder} for changes: {assistant.store().count()} chunks in the index."
    )
    assert said[1:] == ["added zorblat.txt", "removed zorblat.txt"]


def test_the_chat_refuses_a_missing_path_before_watching(assistant, tmp_path):
    from rag.errors import InputError
    from ui.app import start_watching

    with pytest.raises(InputError, match="does not exist: give a file or folder to ingest"):
        start_watching(assistant, [tmp_path / "missing"])
    assert not ui_watchers()


def test_an_error_while_watching_is_one_line_in_the_log_and_ends_only_the_watching(
    assistant, folder, caplog, monkeypatch
):
    from ui.app import start_watching

    def broken(*args, **kwargs):
        raise RuntimeError("inotify watch limit reached\n(see /proc/sys/fs/inotify)")

    monkeypatch.setattr(assistant, "watch", broken)
    stop = start_watching(assistant, [folder])
    eventually(lambda: not ui_watchers(), "the watcher's thread ended")
    assert [r.getMessage() for r in caplog.records if r.name == "rag.ui"] == [
        f"Stopped watching {folder}: RuntimeError: inotify watch limit reached "
        "(see /proc/sys/fs/inotify)"
    ]
    assert not stop.is_set()


def documents_refresh(assistant: Assistant) -> Callable[..., tuple]:
    """The page's timed look at whether the index changed (``build_app``'s handler)."""
    from ui.app import build_app

    demo = build_app(assistant)
    return next(fn for fn in demo.fns.values() if fn.name == "documents_if_changed").fn


def test_the_documents_panel_refreshes_only_when_the_index_changed(assistant, folder):
    import gradio as gr

    from ui.app import ALL_DOCUMENTS
    from ui.documents import changed_line

    refresh = documents_refresh(assistant)
    name = assistant.settings.collection
    uploading = "Reading manual.pdf: page 3 of 68"
    rows, note, picked, about, line, shown = refresh(name, None, None, ALL_DOCUMENTS, uploading)
    assert shown == assistant.last_changed() and line == changed_line(shown)
    assert note == gr.skip()  # an upload's progress is left alone
    geneva = "001_a59af63640988946.txt"
    assert geneva in [r[0] for r in rows]
    # Nothing changed: nothing is sent.
    assert refresh(name, shown, geneva, geneva, "") == (gr.skip(),) * 6

    assistant.ingest([folder])
    rows, _, picked, about, line, stamp = refresh(name, shown, geneva, geneva, "")
    assert stamp == assistant.last_changed() and stamp > shown
    assert "first.txt" in [r[0] for r in rows] and line == changed_line(stamp)
    assert (picked.value, about.value) == (geneva, geneva)  # what was picked stays picked
    assistant.delete(geneva)
    _, _, picked, about, _, _ = refresh(name, stamp, geneva, geneva, "")
    assert (picked.value, about.value) == (None, ALL_DOCUMENTS)


def test_the_note_that_a_collection_is_new_goes_once_a_watcher_has_made_it(assistant, folder):
    import gradio as gr

    from ui.app import ALL_DOCUMENTS, NEW_COLLECTION

    refresh = documents_refresh(assistant)
    new = NEW_COLLECTION.format(name="harbour")
    assert refresh("harbour", None, None, ALL_DOCUMENTS, new) == (gr.skip(),) * 6
    assistant.collection("harbour").ingest([folder])
    rows, note, *_ = refresh("harbour", None, None, ALL_DOCUMENTS, new)
    assert [r[0] for r in rows] == ["first.txt"] and note == ""


def test_rag_ui_watch_of_a_missing_path_is_one_line_and_exit_1(tmp_path):
    missing = tmp_path / "nowhere"
    done = subprocess.run(
        [sys.executable, "-m", "rag", "ui", "--watch", str(FILES), "--watch", str(missing)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == f"Error: {missing} does not exist: give a file or folder to ingest.\n"
    assert done.stdout == ""


def test_rag_ui_hands_the_watched_paths_to_the_server(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import ui.app
    from rag.cli import cli

    served = []
    monkeypatch.setattr(ui.app, "serve", lambda settings, watch: served.append(watch))
    result = CliRunner().invoke(cli, ["ui", "--watch", str(tmp_path), "--watch", str(FILES)])
    assert result.exit_code == 0, result.output
    assert served == [[tmp_path, FILES]]
    assert "--watch PATH" in CliRunner().invoke(cli, ["ui", "--help"]).output
