"""The real files of tests/files/ through the real parts, as a user would: ingest from the
command line, list them, ask about a fact on one page of the PDF and get that page cited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.test_files import PAGE, PDF, SCAN, WORD
from tests.test_real import run

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def files_home(tmp_path_factory) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("files-home")
    folder = tmp_path_factory.mktemp("my-documents")
    for path in (PDF, SCAN, PAGE, WORD):
        shutil.copy(path, folder / path.name)
    first = run("ingest", str(folder), "--json", home=home)
    assert first.returncode == 0, first.stderr
    assert sorted(json.loads(first.stdout)["added"]) == sorted(
        p.name for p in (PDF, SCAN, PAGE, WORD)
    )
    return home, folder


def test_docs_lists_the_web_page_title_and_date_and_the_pdf_pages(files_home):
    home, _ = files_home
    docs = {d["source"]: d for d in json.loads(run("docs", "--json", home=home).stdout)}
    page = docs[PAGE.name]
    assert page["title"].startswith("Access to Wikipedia restored in Turkey")
    assert (page["date"], page["author"]) == ("2020-01-15", "Wikimedia Foundation")
    assert docs[PDF.name]["pages"] == 15 and docs[SCAN.name]["pages"] == 1
    listing = run("docs", home=home).stdout
    assert "15 pages" in listing and "2020-01-15  Access to Wikipedia restored" in listing


def test_reingest_of_unchanged_files_changes_nothing(files_home):
    home, folder = files_home
    report = json.loads(run("ingest", str(folder), "--json", home=home).stdout)
    assert len(report["unchanged"]) == 4 and not (report["added"] or report["updated"])


def test_a_fact_on_page_6_of_the_pdf_is_answered_citing_that_page(files_home):
    home, _ = files_home
    result = run(
        "ask", "--json", "What did the FAA estimate as the average total cost per operator?",
        home=home,
    )  # fmt: skip
    answer = json.loads(result.stdout)
    assert not answer["abstained"], answer["answer"]
    assert "7,650" in answer["answer"]
    assert (PDF.name, 6) in [(c["source"], c["page"]) for c in answer["citations"]]


def test_search_hits_name_the_section_of_a_word_file(files_home):
    home, _ = files_home
    hits = json.loads(
        run(
            "search", "percentage fee collected by the standing trustee", "--json", home=home
        ).stdout
    )
    word = [h for h in hits if h["source"] == WORD.name]
    assert word and all(h["section"] and h["page"] is None for h in word)
