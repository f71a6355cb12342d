"""The public benchmarks on the real data files, cut small: fakes for the exact checks, the
real embedding and generation models for the ``real`` ones."""

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.errors import InputError
from rag.generation import ScriptedGenerator
from rag_eval import benchmarks
from rag_eval.benchmarks import answer_from_texts, index_texts, rgb_passages, run_benchmark
from rag_eval.cli import eval_command
from rag_eval.datasets import DEFAULT_DIR, load_rgb
from tests.conftest import reply_citing_first_passage

QUERIES = 5  # SciFact test queries kept in the small copy
DISTRACTORS = 200  # other abstracts indexed beside their relevant ones


@pytest.fixture(scope="module")
def scifact_dir(tmp_path_factory) -> Path:
    """A SciFact copy with the first test queries, their abstracts and 200 others: the real
    files' rows, so the loader and the benchmark run unchanged on it."""
    target = tmp_path_factory.mktemp("scifact")
    lines = (DEFAULT_DIR / "scifact-qrels-test.tsv").read_text().splitlines()
    kept = [
        line
        for line in lines
        if line.split()[0] in dict.fromkeys([line.split()[0] for line in lines][:QUERIES])
    ]
    (target / "scifact-qrels-test.tsv").write_text("\n".join(kept) + "\n")
    relevant = {line.split()[2] for line in kept}
    shutil.copy(DEFAULT_DIR / "scifact-queries.jsonl", target)
    with zipfile.ZipFile(DEFAULT_DIR / "scifact-corpus.zip") as zf:
        reader = csv.DictReader(io.TextIOWrapper(zf.open("corpus_train.csv"), encoding="utf-8"))
        rows = [r for i, r in enumerate(reader) if i < DISTRACTORS or r["doc_id"] in relevant]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with zipfile.ZipFile(target / "scifact-corpus.zip", "w") as zf:
        zf.writestr("corpus_train.csv", out.getvalue())
    return target


# -- SciFact ------------------------------------------------------------------------------
def test_scifact_reports_three_retrievers_beside_the_published_figures(
    settings, embedder, scifact_dir, tmp_path
):
    home = tmp_path / "bench"
    result = run_benchmark(
        "scifact", settings, limit=3, embedder=embedder, home=home, data_dir=scifact_dir
    )
    assert (result["benchmark"], result["n"], result["embed_model"]) == (
        "scifact",
        3,
        "hash-embedder",
    )
    assert set(result["retrieval"]) == {"dense", "bm25", "hybrid"}
    for figures in result["retrieval"].values():
        assert set(figures) == {"ndcg@10", "recall@10", "search_p50_ms"}
        assert 0.0 <= figures["ndcg@10"] <= 1.0 and 0.0 <= figures["recall@10"] <= 1.0
    # BM25 finds most of these claims' abstracts among ~200 others; hash vectors do worse.
    bm25, dense = result["retrieval"]["bm25"], result["retrieval"]["dense"]
    assert bm25["recall@10"] >= 0.6 and bm25["ndcg@10"] > dense["ndcg@10"]
    assert result["published"]["bm25 (rank-bm25, k1=1.5, b=0.75)"] == {"ndcg@10": 0.685}
    assert result["published"]["bge-small-en-v1.5 (dense)"] == {
        "ndcg@10": 0.713,
        "recall@10": 0.836,
    }
    documents = result["index"]["documents"]
    assert documents > DISTRACTORS and result["index"]["added"] == documents
    assert result["meta"]["settings"]["collection"] == "scifact-hash-embedder"  # not the user's
    assert result["meta"]["settings"]["home"] == str(home)

    again = run_benchmark(
        "scifact", settings, limit=3, embedder=embedder, home=home, data_dir=scifact_dir
    )
    assert again["index"]["added"] == 0  # reused
    assert again["retrieval"] == {
        mode: {**figures, "search_p50_ms": again["retrieval"][mode]["search_p50_ms"]}
        for mode, figures in result["retrieval"].items()
    }


@pytest.mark.real
def test_scifact_dense_retrieval_with_the_real_embedder(
    settings, real_embedder, scifact_dir, tmp_path
):
    result = run_benchmark(
        "scifact", settings, embedder=real_embedder, home=tmp_path / "bench", data_dir=scifact_dir
    )
    assert result["n"] == QUERIES
    assert result["retrieval"]["dense"]["recall@10"] >= 0.8
    assert result["retrieval"]["hybrid"]["ndcg@10"] >= 0.6


def test_index_texts_replaces_changed_documents_only(settings, embedder, tmp_path):
    settings = settings.with_(home=tmp_path / "bench", collection="texts")
    store, stats = index_texts(settings, embedder, {"a.txt": "Alpha text.", "b.txt": "Beta text."})
    assert (stats["documents"], stats["added"], stats["chunks"]) == (2, 2, 2)
    store, stats = index_texts(
        settings, embedder, {"a.txt": "Alpha text.", "b.txt": "Beta, changed."}
    )
    assert (stats["added"], stats["chunks"]) == (1, 2)
    assert sorted(text for _, text, _ in store.all_chunks()) == ["Alpha text.", "Beta, changed."]


def test_unknown_benchmark_is_an_input_error(settings):
    with pytest.raises(InputError, match="choose one of scifact, squad2, rgb"):
        run_benchmark("mmlu", settings)


# -- SQuAD 2.0 ----------------------------------------------------------------------------
def test_squad2_keeps_answerable_and_unanswerable_apart(settings, embedder, tmp_path):
    golds: dict[str, str] = {}

    def gold_answer(messages):
        prompt = next(m["content"] for m in reversed(messages) if "Question:" in m["content"])
        question = prompt.rsplit("Question:", 1)[1].removesuffix("Answer:").strip()
        return f"{golds[question]} [1]." if question in golds else "NOT FOUND"

    from rag_eval.datasets import load_squad2

    for item in load_squad2(n_answerable=2, n_unanswerable=2):
        if item.answerable:
            golds[item.question] = item.answers[0]
    result = run_benchmark(
        "squad2", settings.with_(min_relevance=0.0), limit=2, embedder=embedder,
        generator=ScriptedGenerator(gold_answer), home=tmp_path / "bench",
    )  # fmt: skip
    assert (result["benchmark"], result["n"]) == ("squad2", 4)
    assert result["index"]["documents"] == 646
    assert set(result) >= {"answerable", "unanswerable", "latency_ms", "published", "meta", "items"}
    assert "exact_match" not in result and "f1" not in result  # never one blended score
    assert result["unanswerable"] == {"n": 2, "abstention_accuracy": 1.0}
    answerable = [r for r in result["items"] if r["answerable"]]
    # The gold span, cited, is kept by the checker when its paragraph was retrieved; the
    # marker is stripped before scoring, so those answers are exact matches.
    for record in answerable:
        assert record["exact_match"] == (1.0 if record["paragraph_shown"] else 0.0)
        assert record["abstained"] == (not record["paragraph_shown"])
    shown = sum(r["paragraph_shown"] for r in answerable) / 2
    assert result["answerable"]["exact_match"] == result["answerable"]["paragraph_recall"] == shown
    assert result["published"] == {
        "always abstain (exact match on the whole dev half)": {"exact_match": 0.521}
    }


@pytest.mark.real
def test_squad2_end_to_end_with_the_real_models(settings, real_embedder, small_generator, tmp_path):
    result = run_benchmark(
        "squad2", settings, limit=1, embedder=real_embedder, generator=small_generator,
        home=tmp_path / "bench",
    )  # fmt: skip
    assert result["n"] == 2 and result["answerable"]["n"] == result["unanswerable"]["n"] == 1
    assert result["answerable"]["paragraph_recall"] == 1.0
    assert result["latency_ms"]["total_p50"] > 0
    assert result["meta"]["model"] == small_generator.name


# -- RGB ----------------------------------------------------------------------------------
def test_rgb_passages_per_condition():
    item = load_rgb()[0]
    assert rgb_passages(item, "positive") == item.positive[:5]
    assert rgb_passages(item, "negative") == item.negative[:5]
    mixed = rgb_passages(item, "mixed")
    assert sorted(mixed) == sorted(item.positive[:2] + item.positive_wrong[:2])
    assert mixed == rgb_passages(item, "mixed")  # seeded


def test_answer_from_texts_uses_the_prompt_and_checker(settings):
    generator = ScriptedGenerator(reply_citing_first_passage)
    texts = ["The bridge opened in 1932. It took six years.", "Rain fell all week."]
    answer = answer_from_texts("When did the bridge open?", texts, generator, settings)
    prompt = generator.calls[0][-1]["content"]
    assert "Passage [1]:\nThe bridge opened in 1932" in prompt and "Passage [2]:\nRain" in prompt
    assert answer.answer == "The bridge opened in 1932 [1]."
    assert [c.source for c in answer.citations] == ["p1.txt"] and not answer.abstained


def test_answer_from_texts_checks_answers_as_the_assistant_does(settings):
    """With the question: a true sentence that does not answer it is dropped (RGB's
    irrelevant passages), and a sentence stating a figure is read again by the model."""
    off_topic = answer_from_texts(
        "When did the bridge open?", ["The bridge opened in 1932.", "Rain fell all week."],
        ScriptedGenerator("Rain fell all week [2]."), settings,
    )  # fmt: skip
    assert off_topic.abstained
    judged = ScriptedGenerator(lambda m: "No" if "Does the text say" in m[-1]["content"] else "The bridge opened in 1932 [1].")
    answer = answer_from_texts(
        "When did the bridge open?", ["The bridge opened in 1932."], judged, settings.with_(verify_figures=True)
    )
    assert answer.abstained and len(judged.calls) == 2


def test_rgb_counts_refusals_and_repeated_fakes(settings, embedder, tmp_path):
    refusing = run_benchmark(
        "rgb", settings, limit=3, embedder=embedder, generator=ScriptedGenerator("NOT FOUND"),
        home=tmp_path / "bench",
    )  # fmt: skip
    assert refusing["n"] == 3
    assert refusing["negative"] == {"refusal_rate": 1.0}
    assert refusing["positive"] == {"accuracy": 0.0, "abstention_rate": 1.0}
    assert refusing["mixed"] == {"accuracy": 0.0, "fake_repeated_rate": 0.0, "abstention_rate": 1.0}

    copying = run_benchmark(
        "rgb", settings, limit=3, embedder=embedder, generator=ScriptedGenerator(echo_first_passage),
        home=tmp_path / "bench",
    )  # fmt: skip
    first = copying["items"][0]  # Super Bowl 2021: Tampa, Florida (fake: Glendale, Arizona)
    assert first["positive"]["correct"] and not first["positive"]["fake"]
    shown_first = rgb_passages(load_rgb()[0], "mixed")[0]
    assert first["mixed"]["correct"] == ("Tampa" in shown_first)
    assert first["mixed"]["fake"] == ("Glendale" in shown_first)
    # Repeating a snippet is not refusing; the checker drops the echoes that miss the question.
    kept = [item for item in copying["items"] if not item["negative"]["abstained"]]
    assert kept and copying["negative"]["refusal_rate"] == (3 - len(kept)) / 3


def echo_first_passage(messages):
    """A scripted model that repeats passage [1] (RGB snippets are one line) and cites it."""
    line = messages[-1]["content"].split("Passage [1]", 1)[1].split("\n", 2)[1]
    return line.rstrip(" .\u2026\xa0") + " [1]."


@pytest.mark.real
def test_rgb_with_a_real_model(settings, embedder, small_generator, tmp_path):
    result = run_benchmark(
        "rgb", settings, limit=1, embedder=embedder, generator=small_generator, home=tmp_path / "b"
    )
    assert result["n"] == 1 and 0.0 <= result["mixed"]["fake_repeated_rate"] <= 1.0
    assert result["latency_ms"]["first_token_p50"] > 0


# -- the command --------------------------------------------------------------------------
def test_eval_benchmark_json_leaves_the_items_in_the_files(embedder, monkeypatch, tmp_path):
    real = benchmarks.run_benchmark

    def fake(name, settings, limit=None, **kwargs):
        generator = ScriptedGenerator("NOT FOUND")
        return real(
            name, settings, limit, **{**kwargs, "embedder": embedder, "generator": generator}
        )

    monkeypatch.setattr(benchmarks, "run_benchmark", fake)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        eval_command, ["--benchmark", "rgb", "--limit", "2", "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["benchmark"] == "rgb" and printed["n"] == 2 and "items" not in printed
    assert printed["meta"]["command"] == f"rag eval --benchmark rgb --limit 2 --json --out {out}"
    written = json.loads(next(out.glob("latest-rgb-*.json")).read_text())
    assert len(written["items"]) == 2
    assert len(list(out.glob("*-rgb-scripted.md"))) == 1
