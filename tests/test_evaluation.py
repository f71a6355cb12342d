"""The seed evaluation: exact metrics from a scripted model, the JSON contract, the report
files, deltas against an earlier run, and one-line errors for a bad question set."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.errors import InputError
from rag.generation import ScriptedGenerator
from rag.records import Answer, Citation
from rag_eval import evaluation
from rag_eval.cli import eval_command
from rag_eval.evaluation import (
    DEFAULT_SET,
    GROUPS,
    aggregate,
    citation_support,
    contract,
    deltas,
    load_questions,
    run_seed_eval,
    score_item,
    spread,
    write_report,
)
from tests.conftest import GENEVA

EXPEL = "003_c08c91fbef48442b.txt"
NINETY = "The meeting lasted around 90 minutes [1]."
QUESTIONS = [
    {"id": "a", "kind": "number", "answerable": True, "answers": ["90 minutes"], "sources": [GENEVA],
     "question": "How long did the meeting between Blinken and Lavrov in Geneva last?"},
    {"id": "b", "kind": "fact", "answerable": True, "answers": ["Gorman"], "sources": [EXPEL],
     "question": "Who is the US deputy chief of mission that Moscow expelled?"},
    {"id": "c", "kind": "near_miss", "answerable": False, "answers": [], "sources": [],
     "question": "How many aircraft and ships has Russia deployed around Ukraine?"},
    {"id": "d", "kind": "unanswerable", "answerable": False, "answers": [], "sources": [],
     "question": "What is the status of the Nord Stream 2 pipeline?"},
    {"id": "e", "kind": "followup", "answerable": True, "answers": ["90 minutes"], "sources": [GENEVA],
     "question": "How long did it last?",
     "history": [{"question": "When did Blinken and Lavrov meet in Geneva?", "answer": "On Friday [1]."}]},
]  # fmt: skip


@pytest.fixture
def question_file(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ninety(assistant):
    """The seed assistant (BM25, hash embeddings) with a model that always says 90 minutes."""
    assistant._generator = ScriptedGenerator(NINETY)
    return assistant


@pytest.fixture
def result(ninety, question_file):
    return run_seed_eval(ninety, load_questions(question_file))


# -- end to end with the scripted model --------------------------------------------------
def test_scripted_model_gives_exact_metrics(result):
    outcome = {i["id"]: (i["abstained"], i["correct"]) for i in result["items"]}
    # a, e: the Geneva passage supports "90 minutes": answered, right. b: no shown passage
    # supports it: abstained (a false abstention). c: abstained, right. d: the Geneva
    # passage supports the sentence, but it does not address the question (nothing about a
    # pipeline): dropped, so the assistant abstains, rightly.
    assert outcome == {
        "a": (False, True),
        "b": (True, False),
        "c": (True, True),
        "d": (True, True),
        "e": (False, True),
    }
    assert result["answers"] == {"accuracy": 2 / 3, "false_abstention_rate": 1 / 3, "n": 3}
    assert result["abstention"] == {"accuracy": 1.0, "n": 2}
    assert result["citations"] == {"precision": 1.0, "source_recall": 1.0}
    assert result["unsupported_rate"] == 0.0
    assert result["retrieval"]["recall@5"] == 1.0
    assert result["per_kind"] == {
        "fact": {"accuracy": 0.0, "n": 1},
        "followup": {"accuracy": 1.0, "n": 1},
        "near_miss": {"accuracy": 1.0, "n": 1},
        "number": {"accuracy": 1.0, "n": 1},
        "unanswerable": {"accuracy": 1.0, "n": 1},
    }
    a = result["items"][0]
    assert a["answer"].startswith("The meeting lasted around 90 minutes [")
    assert a["cited_sources"] == [GENEVA] and a["retrieved_sources"][0] == GENEVA
    assert set(a["timings_ms"]) == {"retrieve", "first_token", "total"}


def test_result_keeps_the_public_contract(result):
    assert list(contract(result)) == list(GROUPS)
    assert set(result) == {*GROUPS, "per_kind", "waterfall", "items", "meta"}
    assert set(result["retrieval"]) == {"recall@5", "mrr@10", "ndcg@10"}
    assert set(result["answers"]) == {"accuracy", "false_abstention_rate", "n"}
    assert set(result["abstention"]) == {"accuracy", "n"}
    assert set(result["citations"]) == {"precision", "source_recall"}
    assert set(result["latency_ms"]) == {
        "first_token_p50", "first_token_p95", "total_p50", "retrieve_p50",
    }  # fmt: skip
    meta = result["meta"]
    assert meta["model"] == "scripted" and meta["questions"] == 5
    assert meta["settings"]["retrieval"] == "bm25"
    assert {"platform", "cpu_count"} <= set(meta["machine"])
    assert {
        "id",
        "kind",
        "question",
        "answer",
        "abstained",
        "correct",
        "cited_sources",
        "timings_ms",
    } <= set(result["items"][0])


def test_followup_retrieval_searches_the_conversation_as_the_assistant_does(ninety):
    """A follow-up that points back ("it") is searched as previous question + follow-up, with
    the follow-up alone at a quarter weight, in the retrieval metric as in the assistant."""
    searched = []
    real_search = ninety.retriever.search

    def spy(query, k=5, *, extra_queries=(), extra_weight=0.5):
        searched.append((query, extra_queries, extra_weight))
        return real_search(query, k, extra_queries=extra_queries, extra_weight=extra_weight)

    ninety.retriever.search = spy
    run_seed_eval(ninety, [QUESTIONS[4]], k=7)
    conversation = ("When did Blinken and Lavrov meet in Geneva? How long did it last?", ("How long did it last?",), 0.25)
    assert searched[0] == conversation  # the retrieval metric
    assert searched[1] == conversation  # the assistant


# -- pure scoring -------------------------------------------------------------------------
PASSAGE = "The meeting in Geneva lasted around 90 minutes. Lavrov spoke afterwards."


def _answer(text: str, cites: list[int], abstained: bool = False) -> Answer:
    citations = [Citation(n, f"s{n}.txt", f"c{n}", 0, len(PASSAGE), PASSAGE) for n in cites]
    return Answer(
        text, abstained, citations, {"retrieve": 10.0, "first_token": 100.0, "total": 300.0}
    )


QUESTION = {"id": "x", "kind": "number", "question": "How long?", "answerable": True,
            "answers": ["90 minutes"], "sources": ["s1.txt", "s9.txt"]}  # fmt: skip


def test_score_item_right_answer_with_a_good_citation():
    item = score_item(QUESTION, _answer("It lasted 90 minutes [1].", [1]), ["s2.txt", "s1.txt"])
    assert item["correct"] and item["cites_expected"]
    assert (item["citations"], item["supported_citations"], item["unsupported_sentences"]) == (
        1,
        1,
        [],
    )
    assert item["retrieval"] == {
        "recall@5": 0.5,
        "mrr@10": 0.5,
        "ndcg@10": pytest.approx(0.3868528),
    }


def test_score_item_counts_unsupported_sentences_and_citations():
    item = score_item(
        QUESTION, _answer("It lasted 90 minutes [1]. It was held in Paris [1].", [1]), []
    )
    assert item["correct"]  # the right fact is there, whatever else is said
    assert item["supported_citations"] == 0  # [1] does not support the Paris sentence
    assert item["unsupported_sentences"] == ["It was held in Paris."]


def test_all_of_and_abstention_rules():
    conflict = {**QUESTION, "answers": ["100,000"], "all_of": ["100,000", "160,000"]}
    assert not score_item(conflict, _answer("About 100,000 troops [1].", [1]), [])["correct"]
    assert score_item(conflict, _answer("100,000 [1], later 160,000 [2].", [1, 2]), [])["correct"]
    unanswerable = {**QUESTION, "answerable": False, "answers": [], "sources": []}
    declined = score_item(unanswerable, _answer("The documents don't say.", [], abstained=True), [])
    assert declined["correct"] and declined["retrieval"] == {}
    assert not score_item(QUESTION, _answer("90 minutes", [], abstained=True), [])["correct"]


def test_aggregate_counts_each_rate_over_its_own_questions():
    items = [
        score_item(QUESTION, _answer("It lasted 90 minutes [1].", [1]), ["s1.txt"]),
        score_item(QUESTION, _answer("It lasted 80 minutes [2]. Paris [2].", [2]), ["s3.txt"]),
        score_item(QUESTION, _answer("The documents don't say.", [], abstained=True), []),
        score_item(
            {**QUESTION, "answerable": False, "kind": "near_miss"}, _answer("x", [], True), []
        ),
    ]
    summary = aggregate(items)
    assert summary["answers"] == {"accuracy": 1 / 3, "false_abstention_rate": 1 / 3, "n": 3}
    assert summary["abstention"] == {"accuracy": 1.0, "n": 1}
    assert summary["citations"] == {"precision": 0.5, "source_recall": 0.5}
    assert summary["unsupported_rate"] == 0.5
    assert summary["retrieval"]["recall@5"] == pytest.approx(1 / 6)
    assert summary["latency_ms"] == {
        "first_token_p50": 100.0, "first_token_p95": 100.0, "total_p50": 300.0, "retrieve_p50": 10.0,
    }  # fmt: skip
    assert summary["per_kind"] == {
        "near_miss": {"accuracy": 1.0, "n": 1},
        "number": {"accuracy": 1 / 3, "n": 3},
    }


def test_aggregate_of_nothing_is_all_zero():
    summary = aggregate([])
    assert summary["answers"] == {"accuracy": 0.0, "false_abstention_rate": 0.0, "n": 0}
    assert summary["unsupported_rate"] == 0.0 and summary["per_kind"] == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (1, 0, [])),  # a citation no sentence uses is not supported
        ("Lavrov spoke afterwards [1].", (1, 1, [])),
        ("Lavrov spoke afterwards.", (1, 0, ["Lavrov spoke afterwards."])),  # cites nothing
        ("Lavrov spoke afterwards [3].", (1, 0, ["Lavrov spoke afterwards."])),  # no such citation
        ("Лавров говорил [1].", (1, 0, ["Лавров говорил."])),
    ],
)
def test_citation_support_edge_cases(text, expected):
    c = Citation(1, "s1.txt", "c1", 0, len(PASSAGE), PASSAGE)
    support = citation_support(text, [c])
    assert (support.citations, support.supported_citations, support.unsupported) == expected


def test_the_seed_set_loads_and_spread_covers_every_kind():
    questions = load_questions(DEFAULT_SET)
    assert len(questions) == 101
    assert len({q["kind"] for q in spread(questions, 12)}) >= 8
    assert spread(questions, 10)[0]["id"] == "q001"


# -- reports ------------------------------------------------------------------------------
def test_report_files_and_deltas(result, tmp_path):
    out = tmp_path / "results"
    earlier = json.loads(json.dumps(result))
    earlier["answers"]["accuracy"] = 1 / 3
    earlier["meta"]["date"] = "2024-01-01T00:00:00+00:00"
    previous = tmp_path / "earlier.json"
    previous.write_text(json.dumps(earlier))

    files = write_report(result, out, previous=previous)
    assert (
        files.json.name.endswith("-scripted.json") and files.latest.name == "latest-scripted.json"
    )
    assert json.loads(files.json.read_text())["answers"] == result["answers"]
    assert json.loads(files.latest.read_text())["answers"] == result["answers"]
    assert len(files.plots) == 2
    for plot in files.plots:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = files.markdown.read_text()
    assert "| answers.accuracy | 0.333 | 0.667 | +0.333 |" in markdown
    assert "| fact | 1 | 0.000 |" in markdown
    assert all(f"]({p.name})" in markdown for p in files.plots)
    assert "## Wrong answers" in markdown and "deputy chief of mission" in markdown


def test_deltas_list_metrics_present_on_either_side():
    rows = deltas(
        {"answers": {"accuracy": 0.5}, "new": 1.0}, {"answers": {"accuracy": 0.75}, "old": 2}
    )
    assert rows == [
        ("answers.accuracy", 0.75, 0.5, -0.25),
        ("new", None, 1.0, None),
        ("old", 2, None, None),
    ]


# -- the command --------------------------------------------------------------------------
@pytest.fixture
def fake_seed_assistant(monkeypatch, ninety):
    monkeypatch.setattr(evaluation, "seed_assistant", lambda settings: ninety)
    return ninety


def test_eval_json_prints_only_the_six_groups(fake_seed_assistant, question_file, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        eval_command, ["--set", str(question_file), "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert list(printed) == list(GROUPS)
    assert printed["answers"] == {"accuracy": 2 / 3, "false_abstention_rate": 1 / 3, "n": 3}
    assert len(list(out.glob("*.png"))) == 2 and len(list(out.glob("*.md"))) == 1
    written = json.loads(next(out.glob("latest-*.json")).read_text())
    assert written["meta"]["command"] == f"rag eval --set {question_file} --json --out {out}"


def test_eval_summary_limit_and_compare(fake_seed_assistant, question_file, tmp_path):
    out = tmp_path / "out"
    first = CliRunner().invoke(
        eval_command, ["--set", str(question_file), "--out", str(out), "--limit", "2"]
    )
    assert first.exit_code == 0, first.output
    assert "answers.accuracy" in first.output and "near_miss" in first.output  # a, c
    latest = out / "latest-scripted.json"
    assert json.loads(latest.read_text())["meta"]["questions"] == 2
    again = CliRunner().invoke(
        eval_command,
        ["--set", str(question_file), "--out", str(out), "--compare", str(latest), "--json"],
    )
    assert again.exit_code == 0, again.output
    report = max(out.glob("*.md"), key=lambda p: p.stat().st_mtime).read_text()
    assert "## Compared with" in report and "| abstention.n | 1 | 2 | +1 |" in report


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found: give an existing .jsonl file to --set."),
        ('{"id": "a"}\n{not json\n', "line 1: 'question' is missing or not a str."),
        (json.dumps(QUESTIONS[0]) + "\n\n{not json\n", "line 3 is not valid JSON"),
        ("", "holds no questions"),
    ],
)
def test_bad_question_set_is_an_input_error(content, message, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluation, "seed_assistant", lambda settings: pytest.fail("must not run"))
    path = tmp_path / "set.jsonl"
    if content is not None:
        path.write_text(content)
    result = CliRunner().invoke(eval_command, ["--set", str(path), "--json"])
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)
    assert str(path) in str(result.exception)


def test_missing_compare_file_fails_before_the_run(question_file, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluation, "seed_assistant", lambda settings: pytest.fail("must not run"))
    result = CliRunner().invoke(
        eval_command, ["--set", str(question_file), "--compare", str(tmp_path / "nope.json")]
    )
    assert isinstance(result.exception, InputError)
    assert "give --compare an earlier result .json file" in str(result.exception)


def test_eval_help_has_an_example():
    result = CliRunner().invoke(eval_command, ["--help"])
    assert result.exit_code == 0 and "Example: rag eval --limit 10" in result.output
