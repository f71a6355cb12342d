"""``rag eval --suite``: every set in one run, with deterministic fakes for the models."""

import json

from rag.generation import ScriptedGenerator
from rag_eval.suite import SETS, run_suite, suite_markdown, write_suite_report
from tests.conftest import reply_citing_first_passage


def test_the_suite_runs_every_set_and_reports_each_side_by_side(settings, embedder, tmp_path):
    generator = ScriptedGenerator(reply_citing_first_passage)
    result = run_suite(settings.with_(min_relevance=0.0), limit=4, embedder=embedder, generator=generator)
    assert list(result["sets"]) == list(SETS)
    for name in ("seeds", "manuals"):
        figures = result["sets"][name]
        assert figures["n_answerable"] + figures["n_unanswerable"] == 4
        assert 0.0 <= figures["answered_right"] <= 1.0
    squad = result["results"]["squad2"]
    assert squad["index"]["documents"] == 16  # each article one document
    kinds = [r["answerable"] for r in squad["items"]]
    assert kinds == [True, False, True, False]  # never blended: counted apart
    for record in squad["items"]:
        if record["cited_span_covers"]:  # the cited chunk holds the gold answer
            assert record["answer_match"] is not None
    rgb = result["results"]["rgb"]
    assert rgb["n"] == 4 and all(set(r) >= {"mixed", "negative"} and "positive" not in r for r in rgb["items"])
    assert set(result["meta"]["seconds"]) == set(SETS)

    paths = write_suite_report(result, tmp_path, previous=result)
    assert json.loads(paths[2].read_text())["sets"] == result["sets"]
    table = suite_markdown(result, result)
    assert "## squad2" in table and "| cited_span_covers |" in table and "previous" in table


def test_a_citation_counts_for_squad_only_when_its_chunk_covers_the_gold_answer(settings, embedder):
    """A model that copies the first sentence of its first passage: wherever that chunk
    holds the gold answer, the record says the citation covers it, and only there."""
    from rag_eval.datasets import load_squad2, squad_articles
    from rag_eval.suite import squad_by_article

    generator = ScriptedGenerator(reply_citing_first_passage)
    result = squad_by_article(settings.with_(min_relevance=0.0, home=settings.home / "b"), embedder, generator, limit=6)
    articles = squad_articles()
    items = {i.id: i for i in load_squad2(n_answerable=None, n_unanswerable=None)}
    for record in result["items"]:
        if not record["answerable"]:
            assert record["cited_span_covers"] is None
            continue
        item = items[record["id"]]
        text, offsets = articles[item.title]
        at = offsets[int(item.paragraph_id.rsplit("-", 1)[1])]
        golds = [(at + s, at + s + len(a)) for a, s in zip(item.answers, item.starts)]
        spans = [(start, end) for source, start, end in record["cited"] if source == f"{item.title}.txt"]
        assert record["cited_span_covers"] == any(s <= g and h <= e for s, e in spans for g, h in golds)
        for s, e in spans:  # a cited span is the article's own text
            assert text[s:e].strip()


def test_replaying_the_kept_replies_under_the_same_settings_gives_the_same_figures(settings, embedder):
    from rag_eval.replay import replay_suite

    generator = ScriptedGenerator(reply_citing_first_passage)
    quick = settings.with_(min_relevance=0.0)
    result = run_suite(quick, limit=4, embedder=embedder, generator=generator)
    again = replay_suite(result, quick, embedder=embedder, generator=generator)
    strip = lambda sets: {n: {k: v for k, v in f.items() if not k.endswith("_ms")} for n, f in sets.items()}  # noqa: E731
    assert strip(again["sets"]) == strip(result["sets"])
    for name in ("seeds", "manuals", "squad2"):
        before = [(i["id"], i["answer"], i["abstained"]) for i in result["results"][name]["items"]]
        assert [(i["id"], i["answer"], i["abstained"]) for i in again["results"][name]["items"]] == before


def test_a_replay_applies_a_confidence_threshold_to_the_kept_probabilities(settings, embedder):
    from rag.generation import Likelihood
    from rag_eval.replay import replay_suite

    generator = ScriptedGenerator(reply_citing_first_passage, likelihood=Likelihood(decline=0.4, tokens=[0.9]))
    quick = settings.with_(min_relevance=0.0, min_confidence=0.0)
    result = run_suite(quick, limit=4, sets=("seeds", "rgb"), embedder=embedder, generator=generator)
    assert {i["confidence"] for i in result["results"]["seeds"]["items"]} == {0.6}
    lenient = replay_suite(result, quick.with_(min_confidence=0.5), embedder=embedder, generator=generator)
    assert lenient["sets"]["seeds"]["answered_right"] == result["sets"]["seeds"]["answered_right"]
    strict = replay_suite(result, quick.with_(min_confidence=0.7), embedder=embedder, generator=generator)
    assert all(i["abstained"] for i in strict["results"]["seeds"]["items"])
    assert strict["sets"]["rgb"]["refused_irrelevant"] == 1.0
