"""The whole-document set (``eval/sets/whole``) and its scoring (``rag_eval.whole``): the
set's files are in place, and each figure is computed as described, with fakes for the
models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag.documents import read_document
from rag.errors import InputError
from rag.generation import ScriptedGenerator
from rag.records import Answer, Citation, Document
from rag.settings import PROJECT_ROOT
from rag_eval import SUITE_SETS
from rag_eval.evaluation import seed_assistant
from rag_eval.suite import headline, run_suite, suite_markdown, whole_requests
from rag_eval.whole import (
    KINDS,
    WHOLE,
    covered,
    leaks,
    load_requests,
    parts,
    prompt_lines,
    score,
    sentence_marks,
    summarize,
    timed,
)

DOCS = WHOLE / "docs"
REQUESTS = load_requests(WHOLE / "requests.jsonl")
REPORTED = ("node-addons.md", "expat-reference.html", "nettle.pdf")  # reported failing
PROMPTS = PROJECT_ROOT / "prompts"


# -- the set ------------------------------------------------------------------------------


def test_the_set_has_ten_documents_of_several_kinds_each_in_sources_with_a_licence():
    names = sorted(p.name for p in DOCS.iterdir())
    assert len(names) >= 10
    assert set(REPORTED) <= set(names)
    assert {Path(n).suffix for n in names} >= {".md", ".html", ".pdf", ".rst"}
    sources = (WHOLE / "SOURCES.md").read_text(encoding="utf-8")
    for name in names:
        assert f"`{name}`" in sources, name
    for kind in ("manual", "article", "paper", "report"):
        assert re.search(rf"\| [^|]*\b{kind}\b", sources), kind
    licences = list((WHOLE / "LICENSES").iterdir())
    assert len(licences) >= 8 and all(p.stat().st_size > 100 for p in licences)


def test_every_document_is_readable_and_the_pdf_manual_runs_to_dozens_of_pages():
    for path in sorted(DOCS.iterdir()):
        document = read_document(path, 50_000_000)
        assert isinstance(document, Document), (path.name, document)
        assert len(document.text.split()) >= 2_000, path.name
    nettle = read_document(DOCS / "nettle.pdf", 50_000_000)
    assert isinstance(nettle, Document) and 24 <= len(nettle.pages) <= 100


def test_each_request_names_an_existing_document_and_each_document_is_asked_two_or_three_ways():
    names = {p.name for p in DOCS.iterdir()}
    assert len({r["id"] for r in REQUESTS}) == len(REQUESTS)
    for r in REQUESTS:
        assert r["document"] in names and r["document"] in r["request"], r["id"]
    for name in names:
        kinds = [r["kind"] for r in REQUESTS if r["document"] == name]
        assert 2 <= len(kinds) <= 3 and "summary" in kinds, name
    assert {r["kind"] for r in REQUESTS} == set(KINDS)
    assert all(r["request"].startswith("List every ") for r in REQUESTS if r["kind"] == "list")


def test_a_bad_request_file_is_refused_with_its_line(tmp_path):
    path = tmp_path / "requests.jsonl"
    good = {"id": "w1", "document": "a.md", "request": "Summarise a.md", "kind": "summary"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "kind": "essay"}) + "\n")
    with pytest.raises(InputError, match="line 2: 'kind' must be one of"):
        load_requests(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(InputError, match="line 2: id 'w1' is used twice"):
        load_requests(path)


def test_the_set_runs_in_the_suite_after_pdfs():
    assert SUITE_SETS.index("whole") == SUITE_SETS.index("pdfs") + 1


# -- scoring ------------------------------------------------------------------------------


def _cite(n: int, start: int, end: int, source: str = "doc.md") -> Citation:
    return Citation(n=n, source=source, chunk_id=f"c{n}", start=start, end=end, text="")


def test_coverage_counts_the_sections_a_cited_passage_overlaps():
    text = "Intro words.\n" + "".join(f"# H{i}\n" + "x" * 50 + "\n" for i in range(5))
    sections = tuple((m.start(), m.group(1)) for m in re.finditer(r"# (H\d)", text))
    spans = parts(text, sections)
    assert len(spans) == 6 and spans[0] == (0, sections[0][0])  # the intro is a part too
    assert covered(spans, [(sections[1][0] + 3, sections[2][0] + 3)]) == 2
    assert covered(spans, []) == 0


def test_a_document_with_few_headings_is_cut_in_tenths():
    spans = parts("y" * 1000, [(0, "Title"), (500, "Only")])
    assert spans == [(i * 100, i * 100 + 100) for i in range(10)]
    assert covered(spans, [(0, 50), (950, 1000)]) == 2


def test_prompt_lines_and_scaffolding_in_an_answer_are_leaks_unless_the_document_says_them(
    tmp_path,
):
    (tmp_path / "whole.md").write_text(
        "You read documents for the user.\n\nRules:\n"
        "- Write sentences, not a list: no numbers, bullets or headings.\n$passages\n"
    )
    (tmp_path / "system.md").write_text("You answer questions using only the numbered passages.\n")
    lines = prompt_lines(tmp_path)
    assert lines == [
        "You read documents for the user.",
        "Write sentences, not a list: no numbers, bullets or headings.",
        "You answer questions using only the numbered passages.",
    ]
    answer = "Write sentences, not a list: no numbers [1]. Answer: addons load [2]. Summarise a.md"
    assert leaks(answer, "Summarise a.md", lines) == [lines[1], "Answer:", "Summarise a.md"]
    assert leaks(answer, "Summarise a.md", lines, document="Q: x Answer: y") == [
        lines[1],
        "Summarise a.md",
    ]
    assert leaks("Addons are shared objects [1].", "Summarise a.md", lines) == []
    assert prompt_lines(PROMPTS)  # the shipped templates give lines to look for


def test_numbers_cited_alone_and_sentences_without_a_marker_are_counted():
    numbers, uncited = sentence_marks(
        "Addons are DLLs [1]. 1 [13]. 2. [6]\n3 [2].\nThey are fast. (iv) [3]"
    )
    assert numbers == ["1.", "2.", "3.", "(iv)"]
    assert uncited == ["They are fast."]
    assert sentence_marks("It loads. [2] Then it runs [3].") == ([], [])


def test_timed_measures_the_first_visible_word_and_the_end():
    ticks = iter([10.0, 10.25, 11.0])
    reply, answer, first, total = timed(
        ["", "\n", "Hi", " [1].", Answer("Hi [1].", False)], lambda: next(ticks)
    )
    assert (reply, answer.answer, first, total) == ("\nHi [1].", "Hi [1].", 250.0, 1000.0)
    with pytest.raises(TypeError):
        timed(["no answer"])


def test_one_record_scores_coverage_leaks_numbers_and_uncited_sentences():
    text = "".join(f"## Part {i}\n" + "Some text here. " * 10 + "\n" for i in range(8))
    sections = tuple((m.start(), m.group(0)) for m in re.finditer(r"## Part \d", text))
    document = Document(path="/d/doc.md", source="doc.md", text=text, sha256="", sections=sections)
    row = {"id": "w1", "document": "doc.md", "request": "Summarise doc.md", "kind": "summary"}
    at = [s for s, _ in sections]
    answer = Answer(
        "Part one says things [1]. 2 [2]. Notes on part 3: more [3]. It ends.",
        False,
        [_cite(1, at[0], at[0] + 20), _cite(2, at[5], at[5] + 20), _cite(3, 0, 5, "other.md")],
        {"first_token": 5.0, "total": 9.0},
    )
    record = score(
        row, answer, "raw", 120.0, 900.0, document, ["Write one plain sentence for each passage"]
    )
    assert (record["parts"], record["parts_by"], record["parts_covered"]) == (8, "sections", 2)
    assert record["coverage"] == 0.25 and record["cited_other_documents"] == 1
    assert record["leaks"] == ["Notes on part"]
    assert record["cited_list_numbers"] == ["2."] and record["uncited_sentences"] == ["It ends."]
    assert (record["first_word_ms"], record["total_ms"], record["timings_ms"]["total"]) == (
        120.0,
        900.0,
        9.0,
    )

    abstained = score(row, Answer("NOT FOUND", True), "", 50.0, 60.0, document, [])
    assert (
        abstained["coverage"] == 0.0
        and abstained["uncited_sentences"] == []
        and abstained["leaks"] == []
    )
    unreadable = score(row, answer, "raw", 1.0, 2.0, None, [])
    assert unreadable["parts"] == 0 and unreadable["coverage"] == 0.0


def _record(kind: str, coverage: float, abstained: bool, first: float, total: float) -> dict:
    return {
        "kind": kind, "coverage": coverage, "abstained": abstained, "leaks": ["Request:"] if coverage else [],
        "cited_list_numbers": ["1."], "uncited_sentences": [], "first_word_ms": first, "total_ms": total,
    }  # fmt: skip


def test_the_set_figures_add_up_the_records():
    records = [
        _record("summary", 0.5, False, 100.0, 1000.0),
        _record("summary", 0.0, True, 300.0, 400.0),
        _record("list", 1.0, False, 200.0, 3000.0),
    ]
    result = summarize(records)
    assert result["coverage"] == 0.5 and result["coverage_answered"] == 0.75
    assert (result["leaks"], result["answers_with_leaks"], result["cited_list_numbers"]) == (
        2,
        2,
        3,
    )
    assert (result["abstained_summaries"], result["n_summaries"], result["abstained"]) == (1, 2, 1)
    assert result["first_word_ms"] == {"p50": 200.0, "max": 300.0}
    assert result["total_ms"] == {"p50": 1000.0, "max": 3000.0}
    figures = headline("whole", result)
    assert figures["coverage"] == 0.5 and figures["total_max_ms"] == 3000.0 and figures["n"] == 3
    assert summarize([])["coverage"] == 0.0


# -- running it ---------------------------------------------------------------------------


def _small_set(folder: Path) -> None:
    docs = folder / "docs"
    docs.mkdir(parents=True)
    body = "Addons are shared objects written in C++. They load with require. "
    (docs / "addons.md").write_text(
        "".join(f"# Step {i}\n\n{body * 4}\n\n" for i in range(5)), encoding="utf-8"
    )
    (docs / "notes.txt").write_text(
        ("Plain notes without headings. " * 40 + "\n\n") * 4, encoding="utf-8"
    )
    rows = [
        {"id": "t1", "document": "addons.md", "request": "Summarise addons.md", "kind": "summary"},
        {"id": "t2", "document": "notes.txt", "request": "List every note in notes.txt", "kind": "list"},
        {"id": "t3", "document": "addons.md", "request": "What are the main points of addons.md?", "kind": "main_points"},
    ]  # fmt: skip
    (folder / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _echo_first_sentence(messages: list[dict[str, str]]) -> str:
    """A scripted model that repeats the first sentence of the prompt's first passage."""
    prompt = messages[-1]["content"]
    after = prompt.split("[1]", 1)[1] if "[1]" in prompt else prompt
    first = after.strip().split("\n", 1)[-1].strip().split(". ")[0].rstrip(".")
    return f"{first} [1]."


def test_the_set_is_asked_through_the_assistant_and_scored(settings, embedder, tmp_path):
    _small_set(tmp_path / "set")
    generator = ScriptedGenerator(_echo_first_sentence)
    seen: list[str] = []
    result = whole_requests(
        settings.with_(min_relevance=0.0), embedder, generator, None,
        lambda done, total, what: seen.append(what), folder=tmp_path / "set",
    )  # fmt: skip
    assert result["n"] == 3 and [r["id"] for r in result["items"]] == ["t1", "t2", "t3"]
    assert seen[:3] == ["t1", "t2", "t3"]
    by_id = {r["id"]: r for r in result["items"]}
    assert by_id["t1"]["parts_by"] == "sections" and by_id["t1"]["parts"] == 5
    assert by_id["t2"]["parts_by"] == "tenths" and by_id["t2"]["parts"] == 10
    for record in result["items"]:
        assert 0.0 <= record["coverage"] <= 1.0
        assert 0.0 <= record["first_word_ms"] <= record["total_ms"]
        assert set(record["timings_ms"]) >= {"first_token", "total"}
    limited = whole_requests(
        settings.with_(min_relevance=0.0), embedder, generator, 2, folder=tmp_path / "set"
    )
    assert [r["id"] for r in limited["items"]] == ["t1", "t2"]
    assert result["documents"] == ["addons.md", "notes.txt"]
    one = whole_requests(
        settings.with_(home=tmp_path / "fresh"), embedder, generator, 1, folder=tmp_path / "set"
    )
    assert one["documents"] == ["addons.md"] and one["n"] == 1
    collection = seed_assistant(
        settings.with_(home=tmp_path / "fresh"),
        embedder=embedder,
        seeds=tmp_path / "set" / "docs",
        name="whole",
        only=[],
    )
    assert [d.source for d in collection.documents()] == ["addons.md"]  # the one asked about, alone


def test_the_suite_runs_the_set_with_a_limit_and_shows_its_headline(settings, embedder):
    generator = ScriptedGenerator(_echo_first_sentence)
    result = run_suite(
        settings.with_(min_relevance=0.0),
        limit=2,
        sets=("whole",),
        embedder=embedder,
        generator=generator,
    )
    assert list(result["sets"]) == ["whole"] and result["results"]["whole"]["n"] == 2
    figures = result["sets"]["whole"]
    assert set(figures) >= {
        "coverage", "leaks", "cited_list_numbers", "uncited_sentences", "abstained_summaries",
        "first_word_p50_ms", "first_word_max_ms", "total_p50_ms", "total_max_ms",
    }  # fmt: skip
    table = suite_markdown(result)
    assert "## whole" in table and "| coverage |" in table

    from rag_eval.replay import replay_suite

    again = replay_suite(
        result, settings.with_(min_relevance=0.0), embedder=embedder, generator=generator
    )
    assert again["sets"]["whole"] == figures and again["meta"]["not_replayed"] == ["whole"]
