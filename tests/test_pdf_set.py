"""The PDF question set (``eval/sets/pdfs``): its questions are well formed, every gold
answer is on the PDF page the question gives (as pypdfium2 extracts it, the library
ingestion reads PDFs with), and a right answer is scored by the page it cites."""

from __future__ import annotations

import json

import pypdfium2 as pdfium
import pytest

from rag.errors import InputError
from rag.records import Answer, Citation
from rag.text import normalize_answer
from rag_eval.evaluation import aggregate, load_questions, score_item
from rag_eval.suite import PDFS, QUESTION_SETS, SETS, headline

QUESTIONS = load_questions(PDFS / "questions.jsonl")
DOCS = PDFS / "docs"


def _pages(name: str) -> list[str]:
    """Each page's text (page 1 first), normalised the way answers are graded."""
    pdf = pdfium.PdfDocument(str(DOCS / name))
    try:
        return [normalize_answer(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf))]
    finally:
        pdf.close()


PAGES = {path.name: _pages(path.name) for path in sorted(DOCS.glob("*.pdf"))}


def _on(page_text: str, gold: str) -> bool:
    """Whole-word containment after normalisation, as ``answer_matches`` grades."""
    needle = normalize_answer(gold)
    return bool(needle) and f" {needle} " in f" {page_text} "


def test_the_set_is_registered_in_the_suite_after_manuals():
    assert SETS.index("pdfs") == SETS.index("manuals") + 1
    questions, docs = QUESTION_SETS["pdfs"]
    assert questions.is_file() and docs == DOCS


def test_the_documents_are_small_multi_page_text_pdfs_named_in_sources():
    sources = (PDFS / "SOURCES.md").read_text(encoding="utf-8")
    assert 2 <= len(PAGES) <= 3
    for name, pages in PAGES.items():
        assert name in sources
        assert (DOCS / name).stat().st_size < 2_000_000
        assert 5 <= len(pages) <= 40
        assert all(pages)  # a text layer on every page, not scans


def test_the_questions_are_well_formed_and_spread_over_documents_and_pages():
    ids = [q["id"] for q in QUESTIONS]
    assert len(ids) == len(set(ids))
    answerable = [q for q in QUESTIONS if q["answerable"]]
    unanswerable = [q for q in QUESTIONS if not q["answerable"]]
    assert len(answerable) >= 15 and len(unanswerable) >= 5
    for q in answerable:
        assert q["answers"] and q["pages"], q["id"]
        assert len(q["sources"]) == 1 and q["sources"][0] in PAGES, q["id"]
        assert all(1 <= p <= len(PAGES[q["sources"][0]]) for p in q["pages"]), q["id"]
    for q in unanswerable:
        assert q["answers"] == [] and q["sources"] == [] and "pages" not in q, q["id"]
    assert {q["sources"][0] for q in answerable} == set(PAGES)  # every document is asked about
    assert sum(q["pages"] != [1] for q in answerable) >= len(answerable) * 3 // 4


@pytest.mark.parametrize("q", [q for q in QUESTIONS if q["answerable"]], ids=lambda q: q["id"])
def test_every_gold_answer_is_on_a_gold_page(q):
    pages = PAGES[q["sources"][0]]
    for gold in q["answers"]:
        assert any(_on(pages[p - 1], gold) for p in q["pages"]), (q["id"], gold)
    for p in q["pages"]:  # and no page is listed that does not hold an answer
        assert any(_on(pages[p - 1], gold) for gold in q["answers"]), (q["id"], p)


def test_unanswerable_questions_name_nothing_the_documents_hold():
    """The facts the unanswerable questions ask for are absent (a spot check)."""
    everything = " ".join(" ".join(p) for p in PAGES.values())
    for absent in ("HASH_REPLACE", "grounding", "per gigabyte", "captain"):
        assert not _on(everything, absent), absent


# -- scoring the cited page ---------------------------------------------------------------

PASSAGE = "Normally all buckets share the same threshold (10 items) at which point bucket expansion is triggered."
QUESTION = {"id": "x", "kind": "number", "answerable": True, "question": "How many items per bucket?",
            "answers": ["10 items"], "sources": ["guide.pdf"], "pages": [27]}  # fmt: skip


def _answer(text: str, cited: list[tuple[str, int | None]], abstained: bool = False) -> Answer:
    citations = [
        Citation(n, source, f"c{n}", 0, len(PASSAGE), PASSAGE, page=page)
        for n, (source, page) in enumerate(cited, 1)
    ]
    return Answer(text, abstained, citations, {"retrieve": 1.0, "first_token": 2.0, "total": 3.0})


RIGHT = "Bucket expansion is triggered at 10 items [1]."


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        (QUESTION, _answer(RIGHT, [("guide.pdf", 27)]), True),
        (QUESTION, _answer(RIGHT + " It is the same threshold [2].", [("guide.pdf", 26), ("guide.pdf", 27)]), True),
        (QUESTION, _answer(RIGHT, [("guide.pdf", 26)]), False),  # right answer, wrong page
        (QUESTION, _answer(RIGHT, [("other.pdf", 27)]), False),  # that page of another file
        (QUESTION, _answer(RIGHT, [("guide.pdf", None)]), False),  # a citation without a page
        (QUESTION, _answer("Bucket expansion is triggered at 20 items [1].", [("guide.pdf", 27)]), None),
        (QUESTION, _answer("The documents don't say.", [], abstained=True), None),
    ],
)  # fmt: skip
def test_score_item_says_whether_a_right_answer_cites_a_right_page(question, answer, expected):
    item = score_item(question, answer, ["guide.pdf"])
    assert item["cites_page"] is expected
    assert item["expected_pages"] == [27]
    assert item["cited_pages"] == [[c.source, c.page] for c in answer.citations if c.page]


def test_questions_without_pages_get_no_page_fields_and_no_page_figures():
    plain = {k: v for k, v in QUESTION.items() if k != "pages"}
    item = score_item(plain, _answer(RIGHT, [("guide.pdf", 27)]), ["guide.pdf"])
    assert not {"cites_page", "expected_pages", "cited_pages"} & set(item)
    summary = aggregate([item])
    assert set(summary["citations"]) == {"precision", "source_recall"}  # unchanged
    assert "page_right" not in headline("seeds", summary)


def test_aggregate_page_right_is_over_right_answers_to_questions_with_pages():
    unanswerable = {"id": "u", "kind": "near_miss", "answerable": False, "question": "Who?",
                    "answers": [], "sources": []}  # fmt: skip
    items = [
        score_item(QUESTION, _answer(RIGHT, [("guide.pdf", 27)]), ["guide.pdf"]),  # right page
        score_item(QUESTION, _answer(RIGHT, [("guide.pdf", 3)]), ["guide.pdf"]),  # wrong page
        score_item(QUESTION, _answer(RIGHT, [("guide.pdf", 27), ("guide.pdf", 3)]), []),  # right
        score_item(QUESTION, _answer("About 20 items [1].", [("guide.pdf", 27)]), []),  # wrong
        score_item(QUESTION, _answer("The documents don't say.", [], True), []),  # abstained
        score_item(unanswerable, _answer("The documents don't say.", [], True), []),
    ]
    assert [i.get("cites_page") for i in items] == [True, False, True, None, None, None]
    summary = aggregate(items)
    assert summary["citations"]["page_right"] == pytest.approx(2 / 3)
    assert summary["citations"]["n_page_scored"] == 3
    assert summary["answers"]["accuracy"] == 3 / 5  # the other figures as before
    figures = headline("pdfs", summary)
    assert figures["page_right"] == pytest.approx(2 / 3) and figures["n_page_scored"] == 3
    assert json.loads(json.dumps(items))  # the records stay plain JSON


def test_page_right_with_no_right_answer_is_zero():
    items = [score_item(QUESTION, _answer("About 20 items [1].", [("guide.pdf", 27)]), [])]
    assert aggregate(items)["citations"]["page_right"] == 0.0
    assert aggregate(items)["citations"]["n_page_scored"] == 0


@pytest.mark.parametrize("pages", ["3", [0], [1.5], [True], None])
def test_a_bad_pages_field_is_a_one_line_input_error(pages, tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({**QUESTION, "pages": pages}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1: 'pages' must be a list of page numbers"):
        load_questions(path)


def test_the_suite_runs_the_pdf_set_and_a_replay_scores_its_pages_alike(settings, embedder):
    """With a scripted model that copies its first passage: the suite ingests the PDFs, the
    items carry the page fields, the headline ``page_right``, and a replay agrees."""
    from rag.generation import ScriptedGenerator
    from rag_eval.replay import replay_suite
    from rag_eval.suite import run_suite
    from tests.conftest import reply_citing_first_passage

    generator = ScriptedGenerator(reply_citing_first_passage)
    quick = settings.with_(min_relevance=0.0)
    result = run_suite(quick, sets=("pdfs",), embedder=embedder, generator=generator)
    items = result["results"]["pdfs"]["items"]
    assert len(items) == len(QUESTIONS)
    for item in items:
        if item["answerable"]:
            assert item["expected_pages"] and (item["cites_page"] is None) == (not item["correct"])
            assert all(isinstance(page, int) and page >= 1 for _, page in item["cited_pages"])
        else:
            assert "cites_page" not in item
    figures = result["sets"]["pdfs"]
    assert {"page_right", "n_page_scored", "answered_right"} <= set(figures)
    assert figures["n_page_scored"] == sum(i.get("cites_page") is not None for i in items)
    again = replay_suite(result, quick, embedder=embedder, generator=generator)
    assert again["sets"]["pdfs"]["page_right"] == figures["page_right"]
    assert [i.get("cites_page") for i in again["results"]["pdfs"]["items"]] == [
        i.get("cites_page") for i in items
    ]
