"""The checks run again over the raw replies a suite run kept, without generating.

Everything after generation (``rag.checks``: the confidence gate, support, figures, dates,
other documents' figures) is a function of the question, the passages and the reply. So a
suite run's saved replies can be checked again under other settings
(``RAG_NOTE_CONFLICTS=0 rag eval --replay eval/results/latest-suite-<model>.json``) and
scored exactly as the run scored them, in minutes instead of half an hour: this is how each
check's ablation is measured. Only the figure check asks the model again (a yes/no).
Retrieval, focus and the prompt are recomputed as the run made them; a change to those,
or to generation, needs a new run. The whole-document set (``whole``) is carried over as
the run scored it, and named in ``meta.not_replayed``: its answers are read from excerpts of
whole documents, which a replay does not redo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.assistant import Assistant, answer_of
from rag.confidence import confidence
from rag.draft import Draft
from rag.embedding import Embedder, embedder_for
from rag.generation import Generator, Likelihood
from rag.records import Answer
from rag.settings import Settings

from .benchmarks import (
    _load_generator,
    check_texts_reply,
    index_texts,
    rgb_entry,
    rgb_passages,
    rgb_summary,
    texts_prompt,
)
from .datasets import DEFAULT_DIR, load_rgb, load_squad2, squad_articles
from .evaluation import aggregate, load_questions, run_meta, score_item, seed_assistant
from .suite import QUESTION_SETS, _bench, headline, squad_record, squad_summary, waterfalls
from .waterfall import Traced, gold, texts_stage, traced

Progress = Callable[[int, int, str], None]


def replay_suite(
    result: dict[str, Any],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    data_dir: Path = DEFAULT_DIR,
    progress: Progress | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """``result`` (a ``rag eval --suite`` result) with every kept reply checked again under
    ``settings``, scored and summed up as a suite result."""
    embedder = embedder or embedder_for(settings)
    generator = generator or _load_generator(settings)
    results: dict[str, dict[str, Any]] = {}
    for name, old in result["results"].items():
        if name in QUESTION_SETS:  # the hand-written sets: seeds, manuals, pdfs
            results[name] = _replay_set(name, old, settings, embedder, generator)
        elif name == "squad2":
            results[name] = _replay_squad(old, settings, embedder, generator, data_dir)
        elif name == "rgb":
            results[name] = _replay_rgb(old, settings, generator, data_dir)
        elif name == "whole":
            results[name] = old
        if progress:
            progress(len(results), len(result["results"]), name)
    meta = run_meta(settings, generator.name, command, replayed=result["meta"].get("date"))
    if "whole" in results:
        meta["not_replayed"] = ["whole"]
    return {
        "sets": {name: headline(name, r) for name, r in results.items()},
        "waterfall": waterfalls(results),
        "results": results,
        "meta": meta,
    }


def _likelihood(item: dict[str, Any]) -> Likelihood:
    kept = item.get("likelihood") or {}
    return Likelihood(kept.get("decline"), list(kept.get("tokens") or []))


def _review(
    assistant: Assistant, question: str, history: Any, item: dict[str, Any]
) -> tuple[Answer | None, Traced]:
    """The kept reply checked again (None where the relevance gate answers without the model)
    and what each stage handed on, for the waterfall."""
    found = traced(assistant, question, history, item.get("reply") or "", [])
    p = found.prepared
    if not p.messages:
        return None, found
    likelihood = _likelihood(item)
    draft = assistant.review(found.reply, p, confidence(likelihood), found.trail)
    model = assistant.generator.name
    kept = item.get("likelihood") or {}
    return answer_of(draft, dict(item.get("timings_ms") or {}), model, kept), found


def _replay_set(
    name: str, old: dict[str, Any], settings: Settings, embedder: Embedder, generator: Generator
) -> dict[str, Any]:
    set_file, docs = QUESTION_SETS[name]
    assistant = seed_assistant(
        settings, embedder=embedder, generator=generator, seeds=docs, name=name
    )
    questions = {q["id"]: q for q in load_questions(set_file)}
    items = []
    for item in old["items"]:
        q = questions[item["id"]]
        answer, traced = _review(assistant, q["question"], q.get("history") or [], item)
        if answer is None:  # the relevance gate answered; the checks never ran
            new = dict(item)
        else:
            new = score_item(q, answer, item["retrieved_sources"])
            new["reply"] = item["reply"]
        contains = gold(q.get("answers") or [], q.get("all_of"))
        new["stage"] = traced.stage(new["answerable"], contains, new["correct"])
        items.append(new)
    replayed = aggregate(items)
    replayed["items"] = items
    return replayed


def _replay_squad(
    old: dict[str, Any],
    settings: Settings,
    embedder: Embedder,
    generator: Generator,
    data_dir: Path,
) -> dict[str, Any]:
    bench = _bench(settings, "squad2-articles", embedder)
    articles = squad_articles(data_dir)
    texts = {f"{title}.txt": text for title, (text, _) in articles.items()}
    store, index = index_texts(bench, embedder, texts)
    assistant = Assistant(bench, embedder=embedder, generator=generator, store=store)
    by_id = {i.id: i for i in load_squad2(data_dir, None, None)}
    records = []
    for record in old["items"]:
        item = by_id[record["id"]]
        answer, traced = _review(assistant, item.question, [], record)
        new = (
            dict(record)
            if answer is None
            else squad_record(item, answer, articles, record["reply"])
        )
        right = bool(new["answer_match"])
        new["stage"] = traced.stage(item.answerable, gold(item.answers), right)
        records.append(new)
    return squad_summary(records, index)


def _replay_rgb(
    old: dict[str, Any], settings: Settings, generator: Generator, data_dir: Path
) -> dict[str, Any]:
    by_id = {i.id: i for i in load_rgb(data_dir)}
    conditions = [
        c for c in ("positive", "mixed", "negative") if old["items"] and c in old["items"][0]
    ]
    records = []
    for record in old["items"]:
        item = by_id[record["id"]]
        new: dict[str, Any] = {"id": item.id, "query": item.query, "answer": item.answer}
        for condition in conditions:
            kept = record[condition]
            _, shown = texts_prompt(item.query, rgb_passages(item, condition), generator, settings)
            trail: list[tuple[str, Draft]] = []
            answer = check_texts_reply(
                item.query, shown, kept["reply"], _likelihood(kept), generator, settings, trail
            )
            answer.timings_ms = dict(kept.get("timings_ms") or {})
            new[condition] = rgb_entry(item, answer, kept["reply"])
            stage = texts_stage(
                condition != "negative", gold(item.answer), [p.focused for p in shown],
                kept["reply"], trail, new[condition]["correct"],
            )  # fmt: skip
            new[condition]["stage"] = stage
        records.append(new)
    return rgb_summary(records, conditions)


__all__ = ["replay_suite"]
