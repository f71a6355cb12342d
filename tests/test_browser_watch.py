"""`rag ui --watch` in a real browser with the real models: a file written into the watched
folder is in the Documents table within seconds and answered from; deleted, it is gone from
the table and from the answers. Nobody clicks anything on the page to make either happen.

Starts `rag ui --port P --watch DIR` as a process of its own on a fresh RAG_HOME, and drives
Debian's Chromium through Playwright; screenshots go to ``test-artifacts/watch-*.png`` and
the measured times to ``test-artifacts/watch-times.txt``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import (
    ANSWER_MS,
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    ZORBLAT,
    ask,
    free_port,
    shot,
    ui_env,
    ui_process,
)  # fmt: skip

pytestmark = [pytest.mark.browser, pytest.mark.real]

DEADLINE_MS = 10_000  # from the file written (or deleted) to the Documents table showing it
NOTE = "zorblat_festival.txt"
QUESTION = "Where was the Zorblat festival held?"


class Watched:
    """A `rag ui --watch` process and the folder it watches."""

    def __init__(self, url: str, folder: Path, log: Path) -> None:
        self.url = url
        self.folder = folder
        self.log = log


@pytest.fixture
def watched_ui(tmp_path: Path) -> Iterator[Watched]:
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "harbour.txt").write_text(
        "Harbour committee minutes\n\nThe harbour committee met in Valparaiso on Monday to "
        "discuss dredging the northern basin. The work is to start in the autumn.\n"
    )
    log = tmp_path / "ui.log"
    with ui_process(ui_env(tmp_path), free_port(), log, "--watch", str(folder)) as url:
        yield Watched(url, folder, log)


@pytest.fixture
def page(watched_ui: Watched):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(watched_ui.url, wait_until="domcontentloaded")
        page.wait_for_selector("#question textarea")
        page.wait_for_function(
            "document.querySelector('#status').innerText.includes('Ready')", timeout=300_000
        )
        yield page
        browser.close()


def listed(page, name: str, present: bool, timeout: int) -> None:
    """Wait until the Documents table lists ``name`` (or no longer does). The table must list
    harbour.txt too, which is always in the folder, so that a table read while its rows are
    not drawn does not count as ``name`` gone."""
    page.wait_for_function(
        "([name, present]) => { const text = document.querySelector('#documents').innerText;"
        " return text.includes('harbour.txt') && text.includes(name) === present; }",
        arg=[name, present],
        timeout=timeout,
    )


def said_by(watched: Watched, line: str, timeout: float = 10.0) -> None:
    """Wait until the UI process's log holds ``line``."""
    deadline = time.monotonic() + timeout
    while line not in watched.log.read_text():
        assert time.monotonic() < deadline, f"{line!r} not in the log:\n{watched.log.read_text()}"
        time.sleep(0.1)


def test_files_written_and_deleted_in_a_watched_folder_reach_the_chat_within_seconds(
    watched_ui: Watched, page
):
    page.get_by_role("tab", name="Documents").click()
    listed(page, "harbour.txt", True, ANSWER_MS)  # the watcher's first ingest, untimed
    assert "Index last changed " in page.locator("#index-changed").inner_text()
    assert "new collection" not in page.locator("#documents-note").inner_text()
    shot(page, "watch-01-ready")

    note = watched_ui.folder / NOTE
    note.write_text(ZORBLAT)
    written = time.monotonic()
    listed(page, NOTE, True, DEADLINE_MS)
    in_the_index = time.monotonic() - written
    shot(page, "watch-02-file-added")

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, QUESTION)
    shot(page, "watch-03-answered-from-it")
    assert "Tallinn" in answer
    assert NOTE in page.locator("#evidence").inner_text()

    page.get_by_role("tab", name="Documents").click()
    note.unlink()
    deleted = time.monotonic()
    listed(page, NOTE, False, DEADLINE_MS)
    gone = time.monotonic() - deleted
    shot(page, "watch-04-file-removed")
    said_by(watched_ui, f"removed {NOTE}")  # the watcher says so once the removal is in

    page.get_by_role("tab", name="Chat").click()
    page.click("#new-chat")  # a fresh chat: the earlier answer is no context for this one
    page.wait_for_function(
        "!document.querySelector('#chat [data-testid=\"bot\"]')"
        " && document.querySelector('#evidence .evidence.empty') !== null"
    )
    answer = ask(page, QUESTION)
    shot(page, "watch-05-no-longer-answered")
    said = watched_ui.log.read_text()
    evidence = page.locator("#evidence").inner_text()
    assert NOTE not in evidence, f"answered {answer!r} from the removed file; the log:\n{said}"
    assert answer == "The documents don't say."

    times = f"in the index after {in_the_index:.1f} s; gone after {gone:.1f} s\n"
    (ARTIFACTS / "watch-times.txt").write_text(times)
    print(times, end="")
    assert f"added {NOTE}" in said and f"removed {NOTE}" in said
