"""The chat in a real browser with the real models: ask, read the evidence, upload, follow up.

Starts the app on a free port (default settings, the seed articles ingested into a temporary
RAG_HOME) and drives Debian's Chromium through Playwright. Screenshots of the key moments
go to ``test-artifacts/``. Answers take up to ~20 s each on two cores: timeouts are generous.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.browser, pytest.mark.real]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
GENEVA = "001_a59af63640988946.txt"
ANSWER_MS = 240_000  # one answer, possibly queued behind another one
ZORBLAT = (
    "Zorblat festival comes to Tallinn\n\n"
    "The Zorblat festival, a celebration of fictional board games, was held in Tallinn on 3 May. "
    "About 4,000 visitors attended the festival in the Estonian capital.\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with the default (real) models on the seeds, served from a background thread."""
    from rag.assistant import Assistant
    from ui.app import build_app, launch

    home = tmp_path_factory.mktemp("browser") / "rag-home"
    with pytest.MonkeyPatch.context() as mp:  # as the autouse fixture does, for the module
        mp.setenv("RAG_HOME", str(home))
        names = ("RAG_CHROMA_URL", "RAG_LLM_URL", "RAG_MODEL", "RAG_COLLECTION", "RAG_VERIFY_FIGURES")
        for name in names:  # the defaults, figure check included
            mp.delenv(name, raising=False)
        settings = Settings.from_env().with_(ui_host="127.0.0.1")
        assistant = Assistant(settings)
        assistant.ingest([PROJECT_ROOT / "seeds"])
        demo = build_app(assistant)
        port = free_port()
        launch(demo, settings, port=port, block=False)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@pytest.fixture(scope="module")
def browser(app_url: str):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, app_url: str):
    """``open_page()`` -> a fresh page (its own Gradio session) with the models ready."""
    pages = []

    def open_() -> object:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(app_url, wait_until="domcontentloaded")
        page.wait_for_selector("#question textarea")
        page.wait_for_function(
            "document.querySelector('#status').innerText.includes('Ready')", timeout=300_000
        )
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ask(page, question: str) -> str:
    """Ask in the chat and wait for the verified answer; returns the answer's text."""
    answers = page.locator('#chat [data-testid="bot"]')
    before = answers.count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        """n => document.querySelectorAll('#chat [data-testid="bot"]').length > n
              && document.querySelector('#evidence .evidence:not(.empty)') !== null""",
        arg=before,
        timeout=ANSWER_MS,
    )
    return answers.nth(before).inner_text()


def add_file(page, path: Path, timeout: int = 120_000) -> None:
    """On the Documents tab: choose ``path`` in the upload box, add it, wait until it is in.

    Each wait follows the page: the file's own upload request (however long the server, busy
    with an answer, takes to take it), then the file listed in the box (Gradio may show its
    name and extension apart: "report" ".pdf"), then the note that it was added. None of them
    is a guess at how long that takes on a loaded machine."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/upload" in r.url, timeout=ANSWER_MS
    ) as sent:
        page.locator("#upload input[type=file]").set_input_files(str(path))
    assert sent.value.ok, f"the upload of {path.name} failed: HTTP {sent.value.status}"
    page.wait_for_function(
        """name => {
            const bare = text => text.replace(/\\s+/g, '');
            return bare(document.querySelector('#upload').innerText).includes(bare(name));
        }""",
        arg=path.name,
    )
    page.click("#add")
    page.wait_for_function(
        f"document.querySelector('#documents-note').innerText.includes('Added {path.name}')",
        timeout=timeout,
    )


def ui_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``rag ui`` process of its own: a new RAG_HOME, the default
    models and checks."""
    env = {**os.environ, "RAG_HOME": str(tmp_path / "rag-home"), "RAG_VERIFY_FIGURES": "1"}
    for name in ("RAG_CHROMA_URL", "RAG_LLM_URL", "RAG_MODEL", "RAG_COLLECTION"):
        env.pop(name, None)
    return env


def seeded_home(tmp_path: Path) -> dict[str, str]:
    """``ui_env`` with the seeds ingested."""
    env = ui_env(tmp_path)
    rag = str(Path(sys.executable).parent / "rag")
    subprocess.run([rag, "ingest", str(PROJECT_ROOT / "seeds")], env=env, check=True, capture_output=True)
    return env


@contextlib.contextmanager
def ui_process(env: dict[str, str], port: int, log_path: Path, *args: str) -> Iterator[str]:
    """``rag ui --port port *args`` running until the block ends (then stopped by SIGTERM,
    which closes it as Ctrl-C does); yields its URL once it listens. Its log must hold no
    traceback and it must exit 0."""
    rag = str(Path(sys.executable).parent / "rag")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [rag, "ui", "--port", str(port), *args], env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    assert time.monotonic() < deadline, "rag ui did not start listening"
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            status = proc.wait(timeout=30)
    text = log_path.read_text()
    assert "Traceback" not in text, text
    assert status == 0, text


@pytest.fixture
def fresh_ui(tmp_path: Path) -> Iterator[str]:
    """``rag ui`` just started by a person, as a process of its own, on the ingested seeds:
    its models are still loading when the page first appears."""
    with ui_process(seeded_home(tmp_path), free_port(), tmp_path / "ui.log") as url:
        yield url


def ask_at_once(page, url: str, question: str) -> None:
    """Open ``url``, and type ``question`` and press Enter the moment the box appears."""
    page.set_default_timeout(60_000)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#question textarea")
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")


def wait_for_answer(page) -> str:
    page.wait_for_function(
        """document.querySelectorAll('#chat [data-testid="bot"]').length === 1
           && document.querySelector('#evidence .evidence:not(.empty)') !== null""",
        timeout=ANSWER_MS,
    )
    return page.locator('#chat [data-testid="bot"]').inner_text()


def test_the_first_question_typed_the_moment_the_page_appears_is_answered(browser, fresh_ui):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    ask_at_once(page, fresh_ui, "How long did the meeting between Blinken and Lavrov in Geneva last?")
    # The question shows at once, with a note while the models are still loading.
    page.wait_for_function(
        "document.querySelectorAll('#chat [data-testid=\"user\"]').length === 1", timeout=30_000
    )
    shot(page, "00-asked-before-ready")
    answer = wait_for_answer(page)
    shot(page, "00-answered-after-loading")
    assert "90" in answer
    assert "⚠️" not in answer and "Error" not in page.locator("#evidence").inner_text()
    assert GENEVA in page.locator("#evidence").inner_text()
    assert page.locator('#chat [data-testid="bot"] a[href^="#cite-"]').count() >= 1
    page.close()


def test_two_tabs_asking_the_moment_the_page_appears_each_get_their_answer(browser, fresh_ui):
    questions = (
        "How long did the meeting between Blinken and Lavrov in Geneva last?",
        "Who won the 1998 football World Cup?",  # nothing relevant: abstains
    )
    tabs = [browser.new_page(viewport={"width": 1280, "height": 900}) for _ in questions]
    for page, question in zip(tabs, questions, strict=True):
        ask_at_once(page, fresh_ui, question)
    answers = [wait_for_answer(page) for page in tabs]
    shot(tabs[0], "00-first-tab-at-once")
    shot(tabs[1], "00-second-tab-at-once")
    assert "90" in answers[0] and GENEVA in tabs[0].locator("#evidence").inner_text()
    assert answers[1] == "The documents don't say."
    for page, question in zip(tabs, questions, strict=True):
        assert page.locator('#chat [data-testid="user"]').all_inner_texts() == [question]
        page.close()


def test_page_starts_with_models_loading_in_the_background(browser, app_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url, wait_until="domcontentloaded")
    page.wait_for_selector("#question textarea", timeout=60_000)
    status = page.locator("#status").inner_text()
    shot(page, "00-first-status")  # "Loading models (…)…" unless they loaded very fast
    assert "Loading models (qwen2.5-coder-1.5b)" in status or "Ready" in status
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('Ready · qwen2.5-coder-1.5b')",
        timeout=300_000,
    )
    assert page.title() == "Ask your documents"
    assert page.locator("h1").inner_text() == "Ask your documents"
    shot(page, "01-ready")
    page.close()


def test_geneva_answer_cites_and_highlights_its_passage(open_page):
    page = open_page()
    answer = ask(page, "How long did the meeting between Blinken and Lavrov in Geneva last?")
    shot(page, "02-geneva-answer")

    assert "90" in answer
    evidence = page.locator("#evidence")
    assert GENEVA in evidence.inner_text()
    assert "90 minutes" in evidence.locator("mark").first.inner_text()
    card = evidence.locator("article.cite", has_text=GENEVA).first
    assert card.locator(".date").inner_text() == "undated"  # the article states no date
    assert card.locator(".title").inner_text() == (
        "U.S., Russia meet at ‘critical moment’ in push to stop Putin invading Ukraine"
    )

    # The answer's marker is a link that brings its passage into view.
    link = page.locator('#chat [data-testid="bot"] a[href^="#cite-"]').last
    target = link.get_attribute("href")
    page.locator("#evidence").evaluate("e => e.scrollTop = e.scrollHeight")
    link.click()
    page.wait_for_timeout(1200)
    assert page.locator(target).is_visible()
    box = page.locator(target).bounding_box()
    assert box is not None and 0 <= box["y"] < 900
    assert "flash" in (page.locator(target).get_attribute("class") or "")
    shot(page, "03-citation-clicked")


def test_follow_up_question_uses_the_conversation(open_page):
    page = open_page()
    ask(page, "When did Blinken and Lavrov meet in Geneva?")
    answer = ask(page, "How long did it last?")
    shot(page, "04-follow-up")
    assert "90" in answer
    assert page.locator('#chat [data-testid="bot"]').count() == 2


def test_uploaded_document_is_indexed_and_answered_from(open_page, tmp_path: Path):
    note = tmp_path / "zorblat_festival.txt"
    note.write_text(ZORBLAT)
    page = open_page()
    page.get_by_role("tab", name="Documents").click()
    add_file(page, note)
    assert "zorblat_festival.txt" in page.locator("#documents").inner_text()
    shot(page, "05-documents-uploaded")

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "Where was the Zorblat festival held?")
    shot(page, "06-zorblat-answer")
    assert "Tallinn" in answer
    assert "zorblat_festival.txt" in page.locator("#evidence").inner_text()

    page.get_by_role("tab", name="Documents").click()
    page.locator("#delete-name input").click()
    page.get_by_role("option", name="zorblat_festival.txt").click()
    page.click("#delete")
    page.wait_for_function(
        "document.querySelector('#documents-note').innerText.includes('Deleted zorblat_festival.txt')"
    )
    assert "zorblat_festival.txt" not in page.locator("#documents").inner_text()
    assert "001_a59af63640988946.txt" in page.locator("#documents").inner_text()


def test_an_uploaded_pdf_is_answered_from_with_its_page_in_the_evidence(open_page):
    from tests.test_files import PDF

    page = open_page()
    page.get_by_role("tab", name="Documents").click()
    add_file(page, PDF, timeout=180_000)
    assert PDF.name in page.locator("#documents").inner_text()

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "What did the FAA estimate as the average total cost per operator?")
    shot(page, "07-pdf-answer")
    assert "7,650" in answer
    card = page.locator("#evidence article.cite", has_text=PDF.name).first
    assert card.locator(".page").inner_text() == "page 6"
    card.locator("details.page-text summary").click()  # the whole page, passage marked
    whole = card.locator("details.page-text p")
    assert "$7,650" in whole.locator("mark.on-page").first.inner_text()
    assert "ESTIMATED COSTS" in whole.inner_text()  # the top of page 6, another passage
    shot(page, "08-pdf-page-text")
    card.locator("details.page-image summary").click()  # the page as printed, passage marked
    picture = card.locator("img.pdf-page")
    picture.wait_for(state="visible")
    natural = picture.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert natural > 0
    assert picture.evaluate("img => img.getBoundingClientRect().width") < natural  # the panel's
    picture.click()  # zoomed: at full size, over the page
    assert card.locator("input.zoom").is_checked()
    assert picture.evaluate("img => img.clientWidth") == natural
    assert card.locator("label.pdf-zoom").evaluate("e => getComputedStyle(e).position") == "fixed"
    shot(page, "08b-pdf-page-image")
    picture.click()  # and back into the panel
    assert not card.locator("input.zoom").is_checked()
    assert picture.evaluate("img => img.getBoundingClientRect().width") < natural

    page.get_by_role("tab", name="Documents").click()
    page.locator("#delete-name input").click()
    page.get_by_role("option", name=PDF.name).click()
    page.click("#delete")
    page.wait_for_function(
        f"document.querySelector('#documents-note').innerText.includes('Deleted {PDF.name}')"
    )


def test_uploading_a_long_pdf_shows_its_pages_as_they_are_read(open_page, monkeypatch):
    """The note follows the upload: the PDF's pages as they are read, then the summary.

    Test-only slowing: the 15-page PDF is made to report its pages (``PAGES_TO_REPORT``,
    20 in use) and each page is held 0.3 s, so that the page messages stay on the page long
    enough to be seen however fast this machine reads; the server runs in this process."""
    import rag.ingest
    from tests.test_files import PDF

    monkeypatch.setattr(rag.ingest, "PAGES_TO_REPORT", 10)
    read = rag.ingest.Indexer._read

    def slow_read(self, file, max_bytes, catalog, pages=None):
        def slow(page: int, total: int) -> None:
            time.sleep(0.3)
            if pages is not None:
                pages(page, total)

        return read(self, file, max_bytes, catalog, slow)

    monkeypatch.setattr(rag.ingest.Indexer, "_read", slow_read)
    page = open_page()
    page.get_by_role("tab", name="Documents").click()
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/upload" in r.url, timeout=ANSWER_MS
    ) as sent:
        page.locator("#upload input[type=file]").set_input_files(str(PDF))
    assert sent.value.ok
    page.wait_for_function(
        "name => document.querySelector('#upload').innerText.replace(/\\s+/g, '')"
        ".includes(name.replace(/\\s+/g, ''))",
        arg=PDF.name,
    )
    # Every text the note shows, in order, as the page changes it.
    page.evaluate(
        """() => {
            window.notes = [];
            const note = document.querySelector('#documents-note');
            const seen = () => {
                const text = note.innerText.trim();
                if (text && text !== window.notes.at(-1)) window.notes.push(text);
            };
            new MutationObserver(seen).observe(note, {subtree: true, childList: true, characterData: true});
        }"""
    )
    page.click("#add")
    page.wait_for_function(
        "document.querySelector('#documents-note').innerText.includes('page')", timeout=ANSWER_MS
    )
    shot(page, "09-upload-progress")
    page.wait_for_function(
        f"document.querySelector('#documents-note').innerText.includes('Added {PDF.name}')",
        timeout=ANSWER_MS,
    )
    notes = page.evaluate("window.notes")
    pages = [n for n in notes if f"Reading {PDF.name}: page " in n]
    assert pages, notes
    assert notes.index(pages[0]) < len(notes) - 1
    assert notes[-1].startswith(f"Added {PDF.name}.")
    numbers = [int(n.split("page ")[1].split(" of ")[0]) for n in pages]
    assert numbers == sorted(numbers) and pages[-1].endswith(" of 15"), pages
    assert "Index last changed " in page.locator("#index-changed").inner_text()

    page.locator("#delete-name input").click()  # as it was for the other tests
    page.get_by_role("option", name=PDF.name).click()
    page.click("#delete")
    page.wait_for_function(
        f"document.querySelector('#documents-note').innerText.includes('Deleted {PDF.name}')"
    )


def test_reindex_reports_what_it_read_then_what_changed(open_page):
    page = open_page()
    page.get_by_role("tab", name="Documents").click()
    button = page.locator("#reindex")
    assert button.inner_text().strip() == "Re-index documents"
    button.click()
    page.wait_for_function(
        "document.querySelector('#documents-note').innerText.includes('chunks in the index')",
        timeout=ANSWER_MS,
    )
    assert "unchanged" in page.locator("#documents-note").inner_text()
    assert "Index last changed " in page.locator("#index-changed").inner_text()


def test_two_tabs_asking_at_once_each_get_their_own_answer(open_page):
    questions = (
        "How long did the meeting between Blinken and Lavrov in Geneva last?",
        "Who won the 1998 football World Cup?",  # nothing relevant: abstains
    )
    tabs = [open_page(), open_page()]
    for page, question in zip(tabs, questions, strict=True):
        page.fill("#question textarea", question)
    for page in tabs:
        page.click("#ask")
    for page in tabs:
        page.wait_for_function(
            "document.querySelector('#evidence .evidence:not(.empty)') !== null", timeout=ANSWER_MS
        )
    shot(tabs[0], "07-tab-one")
    shot(tabs[1], "08-tab-two")

    for page, question in zip(tabs, questions, strict=True):
        assert page.locator('#chat [data-testid="user"]').all_inner_texts() == [question]
        assert page.locator('#chat [data-testid="bot"]').count() == 1
    assert "90" in tabs[0].locator('#chat [data-testid="bot"]').inner_text()
    assert GENEVA in tabs[0].locator("#evidence").inner_text()
    assert tabs[1].locator('#chat [data-testid="bot"]').inner_text() == "The documents don't say."
    assert "Looked at:" in tabs[1].locator("#evidence").inner_text()
    assert tabs[1].locator("#evidence article.cite").count() == 0


def test_stop_cancels_the_answer_and_the_next_question_still_works(open_page):
    page = open_page()
    page.fill(
        "#question textarea", "How long did the meeting between Blinken and Lavrov in Geneva last?"
    )
    page.click("#ask")
    page.wait_for_function(
        "document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 1", timeout=60_000
    )
    page.click("#stop")
    page.wait_for_function(
        "document.querySelector('#chat [data-testid=\"bot\"]').innerText.includes('Stopped')"
    )
    assert page.locator("#evidence .evidence.empty").count() == 1  # never finished
    shot(page, "09-stopped")
    page.get_by_text("Settings").click()
    page.locator("#scores input[type=checkbox]").check()
    # At once, while the stopped answer may still be reading its prompt: not dropped.
    answer = ask(page, "How long did the meeting between Blinken and Lavrov in Geneva last?")
    assert "90" in answer
    assert "score 0." in page.locator("#evidence").inner_text()
    shot(page, "10-scores-shown")
    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
    shot(page, "11-new-chat")


def test_a_question_asked_during_an_answer_is_answered_after_it(open_page):
    page = open_page()
    page.fill("#question textarea", "How long did the meeting between Blinken and Lavrov in Geneva last?")
    page.click("#ask")
    page.wait_for_function(
        "document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 1", timeout=60_000
    )
    page.fill("#question textarea", "Who is the US Secretary of State?")
    page.click("#ask")
    page.wait_for_function(
        """document.querySelectorAll('#chat [data-testid="user"]').length === 2
           && document.querySelectorAll('#chat [data-testid="bot"]').length === 2
           && document.querySelectorAll('#chat [data-testid="bot"]')[1]
                .querySelector('a[href^="#cite-"]') !== null""",
        timeout=ANSWER_MS,
    )
    bots = page.locator('#chat [data-testid="bot"]')
    assert "90" in bots.nth(0).inner_text()  # the first answer was kept, not overwritten
    assert "Blinken" in bots.nth(1).inner_text()
    shot(page, "12-asked-during-an-answer")


def test_switching_the_model_loads_it_in_the_background(open_page):
    page = open_page()
    page.get_by_text("Settings").click()
    page.locator("#model input").click()
    page.get_by_role("option", name="smollm2-135m").click()
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('Ready · smollm2-135m')",
        timeout=300_000,
    )
    ask(page, "How long did the meeting between Blinken and Lavrov in Geneva last?")
    shot(page, "13-smollm2")
    assert "smollm2-135m" in page.locator("#evidence .timings").inner_text()


def test_a_new_collection_answers_only_from_its_own_documents(open_page, tmp_path: Path):
    note = tmp_path / "zorblat_programme.txt"
    note.write_text(ZORBLAT)
    page = open_page()
    menu = page.locator("#collection input")
    menu.fill("festivals")
    menu.press("Enter")
    page.get_by_role("tab", name="Documents").click()
    page.wait_for_function(
        "document.querySelector('#documents-note').innerText.includes('festivals is a new collection')"
    )
    add_file(page, note)
    listed = page.locator("#documents").inner_text()
    assert "zorblat_programme.txt" in listed and GENEVA not in listed

    page.get_by_role("tab", name="Chat").click()
    assert "Tallinn" in ask(page, "Where was the Zorblat festival held?")
    geneva = ask(page, "How long did the meeting between Blinken and Lavrov in Geneva last?")
    shot(page, "10-collection-festivals")
    assert "90" not in geneva and GENEVA not in page.locator("#evidence").inner_text()

    other = open_page()  # another tab stays in the default collection
    assert other.locator("#collection input").input_value() == "documents"
    assert "Tallinn" not in ask(other, "Where was the Zorblat festival held?")
    assert "zorblat_programme.txt" not in other.locator("#evidence").inner_text()

    menu.fill("documents")  # back in the first tab: a new chat over the articles
    menu.press("Enter")
    page.wait_for_function(
        "document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0"
    )
    assert "90" in ask(page, "How long did the meeting between Blinken and Lavrov in Geneva last?")


def test_a_conversation_is_kept_across_a_reload_and_a_restart_and_exported(browser, tmp_path):
    """Ask, reload: the conversation is open again with its answer and evidence. Restart the
    server: it is still listed, reopens, takes a follow-up, and exports as Markdown with
    its sources. Another browser does not see it."""
    env, port, log = seeded_home(tmp_path), free_port(), tmp_path / "ui.log"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    question = "How long did the meeting between Blinken and Lavrov in Geneva last?"

    def ready(page) -> None:
        page.wait_for_selector("#question textarea")
        page.wait_for_function(
            "document.querySelector('#status').innerText.includes('Ready')", timeout=300_000
        )

    with ui_process(env, port, log) as url:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url, wait_until="domcontentloaded")
        ready(page)
        answer = ask(page, question)
        assert "90" in answer
        page.wait_for_function(
            "q => document.querySelector('#conversations').innerText.includes(q.slice(0, 40))",
            arg=question,
        )
        page.reload(wait_until="domcontentloaded")
        ready(page)
        page.wait_for_function(
            """() => document.querySelectorAll('#chat [data-testid="bot"]').length === 1
                     && document.querySelector('#evidence article.cite') !== null"""
        )
        shot(page, "12-conversation-after-reload")
        assert "90" in page.locator('#chat [data-testid="bot"]').inner_text()
        assert GENEVA in page.locator("#evidence").inner_text()

    with ui_process(env, port, log) as url:  # the server restarted, on the same address
        page.goto(url, wait_until="domcontentloaded")
        ready(page)
        page.wait_for_function(
            "() => document.querySelector('#evidence article.cite') !== null", timeout=60_000
        )
        assert page.locator('#chat [data-testid="user"]').all_inner_texts() == [question]
        page.click("#new-chat")
        page.wait_for_function(
            "() => document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0"
        )
        page.locator("#conversations label", has_text=question[:40]).click()  # reopen it
        page.wait_for_function(
            "() => document.querySelector('#evidence article.cite') !== null", timeout=60_000
        )
        follow_up = ask(page, "Where did they meet after that?")
        assert follow_up
        assert len(page.locator('#chat [data-testid="user"]').all_inner_texts()) == 2
        page.fill("#conversation-name input", "Geneva talks")
        page.click("#rename")
        page.wait_for_function(
            "() => document.querySelector('#conversations').innerText.includes('Geneva talks')"
        )
        shot(page, "13-conversation-after-restart")
        with page.expect_download() as download:
            page.click("#export")
        exported = Path(download.value.path()).read_text()
        assert download.value.suggested_filename == "Geneva-talks.md"
        assert exported.startswith("# Geneva talks\n")
        assert f"## {question}" in exported and "## Where did they meet after that?" in exported
        assert f"- [1] {GENEVA}" in exported or f"] {GENEVA}" in exported
        assert "Sources:" in exported and "\n  > " in exported

        stranger = browser.new_page(viewport={"width": 1280, "height": 900})
        stranger.goto(url, wait_until="domcontentloaded")
        ready(stranger)
        assert "Geneva talks" not in stranger.locator("#conversations").inner_text()
        assert stranger.locator('#chat [data-testid="user"]').count() == 0
        stranger.close()

        page.click("#forget")
        page.wait_for_function(
            "() => !document.querySelector('#conversations').innerText.includes('Geneva talks')"
        )
    context.close()
