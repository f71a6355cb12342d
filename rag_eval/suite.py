"""The evaluation suite: every question set in one run, reported side by side.

``rag eval --suite`` asks, with the same models and settings:

* ``seeds``: the seed set (``eval/questions.jsonl``) over ``seeds/``;
* ``manuals``: ``eval/sets/manuals`` over its own documents (SQLite, Git and nano manuals);
* ``pdfs``: ``eval/sets/pdfs`` over its own three PDF files; its answerable questions also
  give the PDF pages that state the answer, so a right answer is also judged by the page it
  cites (``page_right``);
* ``squad2``: SQuAD 2.0, each of the 16 articles of ``../shared/datasets`` ingested as one
  document, ``SQUAD_PER_ARTICLE`` answerable and as many unanswerable questions drawn from
  each (seeded). An answer counts when it contains a gold answer; its citation counts only
  when the cited chunk covers the gold answer's position in the article;
* ``rgb``: all 100 RGB questions, with true and counterfactual snippets mixed (is the planted
  fake answer repeated?) and with irrelevant snippets only (does it refuse?).

Answerable and unanswerable questions are never blended. ``run_suite`` returns
``{"sets": {name: headline figures}, "results": {name: full result}, "meta": ...}``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.assistant import Assistant
from rag.citations import strip_markers
from rag.documents import read_document
from rag.draft import Draft
from rag.embedding import Embedder, embedder_for
from rag.generation import Generator
from rag.records import Answer, Document
from rag.settings import PROJECT_ROOT, Settings

from . import SUITE_SETS, whole
from .benchmarks import _collection, _latency, _load_generator, _mean, index_texts, rgb
from .datasets import DEFAULT_DIR, load_squad2, squad_articles
from .evaluation import load_questions, run_meta, run_seed_eval, seed_assistant, spread
from .metrics import answer_matches
from .waterfall import gold, tally, traced

Progress = Callable[[int, int, str], None]

SETS = SUITE_SETS
SEED_SET = PROJECT_ROOT / "eval" / "questions.jsonl"
MANUALS = PROJECT_ROOT / "eval" / "sets" / "manuals"
PDFS = PROJECT_ROOT / "eval" / "sets" / "pdfs"
# The hand-written sets: (question file, the folder of documents they are asked over).
QUESTION_SETS = {
    "seeds": (SEED_SET, PROJECT_ROOT / "seeds"),
    "manuals": (MANUALS / "questions.jsonl", MANUALS / "docs"),
    "pdfs": (PDFS / "questions.jsonl", PDFS / "docs"),
}
SQUAD_PER_ARTICLE = 3  # answerable questions per article, and as many unanswerable ones


def run_suite(
    settings: Settings,
    limit: int | None = None,
    *,
    sets: Sequence[str] = SETS,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    data_dir: Path = DEFAULT_DIR,
    progress: Progress | None = None,
    command: str | None = None,
    checkpoint: Callable[[dict[str, Any]], object] | None = None,
) -> dict[str, Any]:
    """Run ``sets`` in order with one embedder and generator; ``limit`` caps each set's
    questions (a quick run; the figures are then not comparable with a full one).
    ``checkpoint`` receives the result so far after each set (a stopped run keeps them)."""
    embedder = embedder or embedder_for(settings)
    generator = generator or _load_generator(settings)
    results: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    for name in sets:
        began = time.perf_counter()
        if name in QUESTION_SETS:
            set_file, docs = QUESTION_SETS[name]
            assistant = seed_assistant(
                settings, embedder=embedder, generator=generator, seeds=docs, name=name
            )
            questions = spread(load_questions(set_file), limit)
            results[name] = run_seed_eval(assistant, questions, progress=_named(progress, name))
        elif name == "whole":
            results[name] = whole_requests(
                settings, embedder, generator, limit, _named(progress, name)
            )
        elif name == "squad2":
            results[name] = squad_by_article(
                _bench(settings, "squad2-articles", embedder), embedder, generator, limit,
                data_dir, _named(progress, name),
            )  # fmt: skip
        elif name == "rgb":
            results[name] = rgb(
                _bench(settings, "rgb", embedder), embedder, generator, limit, data_dir,
                _named(progress, name), conditions=("mixed", "negative"),
            )  # fmt: skip
        else:
            raise ValueError(f"unknown set {name!r}: choose from {', '.join(SETS)}")
        seconds[name] = round(time.perf_counter() - began, 1)
        meta = run_meta(settings, generator.name, command, limit=limit, seconds=seconds)
        so_far = {
            "sets": {name: headline(name, result) for name, result in results.items()},
            "waterfall": waterfalls(results),
            "results": results,
            "meta": meta,
        }
        if checkpoint:
            checkpoint(so_far)
    return so_far


def headline(name: str, result: dict[str, Any]) -> dict[str, float]:
    """The figures a set is judged by, the same names across sets where they mean the same:
    ``answered_right`` (answerable questions answered right), ``abstained`` (unanswerable
    ones abstained), ``false_abstention`` and the set's own citation figure (for a set with
    pages, also ``page_right``: right answers citing a page that states the answer). The
    ``whole`` set has figures of its own (``rag_eval.whole.headline``)."""
    if name == "whole":
        return whole.headline(result)
    if name == "rgb":
        return {
            "mixed_right": result["mixed"]["accuracy"],
            "fake_repeated": result["mixed"]["fake_repeated_rate"],
            "refused_irrelevant": result["negative"]["refusal_rate"],
            "n": result["n"],
            "total_p50_ms": result["latency_ms"]["total_p50"],
        }
    if name == "squad2":
        a, u = result["answerable"], result["unanswerable"]
        return {
            "answered_right": a["answer_match"],
            "cited_span_covers": a["cited_span_covers"],
            "gold_retrieved": a.get("gold_retrieved"),
            "false_abstention": a["false_abstention_rate"],
            "abstained": u["abstention_accuracy"],
            "n_answerable": a["n"],
            "n_unanswerable": u["n"],
            "total_p50_ms": result["latency_ms"]["total_p50"],
        }
    figures = {
        "answered_right": result["answers"]["accuracy"],
        "cites_expected": result["citations"]["source_recall"],
        "false_abstention": result["answers"]["false_abstention_rate"],
        "abstained": result["abstention"]["accuracy"],
        "citation_precision": result["citations"]["precision"],
        "n_answerable": result["answers"]["n"],
        "n_unanswerable": result["abstention"]["n"],
        "total_p50_ms": result["latency_ms"]["total_p50"],
    }
    if "page_right" in result["citations"]:  # a set whose questions give pages (PDFs)
        figures["page_right"] = result["citations"]["page_right"]
        figures["n_page_scored"] = result["citations"]["n_page_scored"]
    return figures


def whole_requests(
    settings: Settings,
    embedder: Embedder,
    generator: Generator,
    limit: int | None = None,
    progress: Progress | None = None,
    folder: Path = whole.WHOLE,
) -> dict[str, Any]:
    """The whole-document set: each request (``limit``: that many, spread over the set)
    asked through ``Assistant.stream`` over the documents the requests name, ingested into
    their own collection (as the hand-written sets are), and scored by ``rag_eval.whole``."""
    rows = spread(whole.load_requests(folder / "requests.jsonl"), limit)
    docs = folder / "docs"
    named = sorted({row["document"] for row in rows})
    assistant = seed_assistant(
        settings, embedder=embedder, generator=generator, seeds=docs, name="whole", only=named
    )
    assistant.warm_up()  # load the models now: the first request's time is not a load time
    max_bytes = int(settings.max_file_mb * 1e6)
    documents: dict[str, Document | None] = {}
    for row in rows:
        if row["document"] not in documents:
            read = read_document(docs / row["document"], max_bytes)
            documents[row["document"]] = read if isinstance(read, Document) else None
    prompts = whole.prompt_lines(settings.prompts)
    records: list[dict[str, Any]] = []
    for done, row in enumerate(rows):
        if progress:
            progress(done, len(rows), row["id"])
        reply, answer, first, total = whole.timed(assistant.stream(row["request"]))
        records.append(
            whole.score(row, answer, reply, first, total, documents[row["document"]], prompts)
        )
    if progress:
        progress(len(rows), len(rows), "")
    return {"documents": named, **whole.summarize(records)}


def squad_by_article(
    settings: Settings,
    embedder: Embedder,
    generator: Generator,
    limit: int | None = None,
    data_dir: Path = DEFAULT_DIR,
    progress: Progress | None = None,
    per_article: int = SQUAD_PER_ARTICLE,
) -> dict[str, Any]:
    """SQuAD 2.0 with each article one document: ``per_article`` answerable and as many
    unanswerable questions per article, asked through the whole assistant."""
    articles = squad_articles(data_dir)
    texts = {f"{title}.txt": text for title, (text, _) in articles.items()}
    store, index = index_texts(settings, embedder, texts, progress)
    assistant = Assistant(settings, embedder=embedder, generator=generator, store=store)
    items = _per_article(load_squad2(data_dir, None, None), per_article)[:limit]
    records: list[dict[str, Any]] = []
    for done, item in enumerate(items):
        if progress:
            progress(done, len(items), item.id)
        trail: list[tuple[str, Draft]] = []
        pieces = list(assistant.stream(item.question, trail=trail))
        answer = pieces[-1]
        assert isinstance(answer, Answer)
        reply = "".join(p for p in pieces[:-1] if isinstance(p, str)) if answer.model else ""
        record = squad_record(item, answer, articles, reply)
        record["stage"] = traced(assistant, item.question, [], reply, trail).stage(
            item.answerable, gold(item.answers), bool(record["answer_match"])
        )
        records.append(record)
    return squad_summary(records, index)


def squad_record(
    item: Any, answer: Answer, articles: dict[str, tuple[str, list[int]]], reply: str
) -> dict[str, Any]:
    """One SQuAD answer scored: a gold answer in it, and the cited chunk covering the gold
    answer's position in its article."""
    said = "" if answer.abstained else strip_markers(answer.answer)
    _, offsets = articles[item.title]
    where = offsets[int(item.paragraph_id.rsplit("-", 1)[1])]
    gold = [(where + s, where + s + len(a)) for a, s in zip(item.answers, item.starts)]
    right = item.answerable and not answer.abstained and answer_matches(said, item.answers)
    covers = any(
        c.source == f"{item.title}.txt" and c.start <= s and e <= c.end
        for c in answer.citations
        for s, e in gold
    )
    return {
        "id": item.id,
        "title": item.title,
        "question": item.question,
        "answerable": item.answerable,
        "answers": item.answers,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "answer_match": right if item.answerable else None,
        "cited_span_covers": covers if item.answerable else None,
        "cited": [[c.source, c.start, c.end] for c in answer.citations],
        "article_shown": f"{item.title}.txt" in {h.source for h in answer.passages},
        # The ceiling: a passage the model could read holds a gold answer where SQuAD marks it.
        "gold_retrieved": any(
            h.source == f"{item.title}.txt" and h.start <= s and e <= h.end
            for h in answer.passages
            for s, e in gold
        )
        if item.answerable
        else None,
        "timings_ms": dict(answer.timings_ms),
        "confidence": answer.confidence,
        "likelihood": answer.likelihood,
        "reply": reply,
    }


def squad_summary(records: list[dict[str, Any]], index: dict[str, Any]) -> dict[str, Any]:
    answerable = [r for r in records if r["answerable"]]
    matched = [r for r in answerable if r["answer_match"]]
    unanswerable = [r for r in records if not r["answerable"]]
    return {
        "n": len(records),
        "answerable": {
            "n": len(answerable),
            "answer_match": _mean([r["answer_match"] for r in answerable]),
            "cited_span_covers": _mean([r["cited_span_covers"] for r in matched]),
            "false_abstention_rate": _mean([r["abstained"] for r in answerable]),
            "gold_retrieved": _mean([bool(r.get("gold_retrieved")) for r in answerable]),
        },
        "unanswerable": {
            "n": len(unanswerable),
            "abstention_accuracy": _mean([r["abstained"] for r in unanswerable]),
        },
        "latency_ms": _latency(records),
        "index": index,
        "waterfall": tally(records),
        "items": records,
    }


def _per_article(items: Sequence[Any], n: int) -> list[Any]:
    """``n`` answerable and ``n`` unanswerable items of each article (seeded draw), listed
    answerable then unanswerable, article by article, alternating so that a ``limit``
    keeps both kinds."""
    by_title: dict[str, tuple[list[Any], list[Any]]] = {}
    for item in items:
        by_title.setdefault(item.title, ([], []))[0 if item.answerable else 1].append(item)
    out: list[Any] = []
    for title, (answerable, unanswerable) in by_title.items():
        rng = random.Random(f"0-{title}")
        picked = [
            rng.sample(answerable, min(n, len(answerable))),
            rng.sample(unanswerable, min(n, len(unanswerable))),
        ]
        for a, u in zip(*picked):
            out += [a, u]
    return out


def _bench(settings: Settings, name: str, embedder: Embedder) -> Settings:
    return settings.with_(home=settings.home / "benchmarks", collection=_collection(name, embedder))


def _named(progress: Progress | None, name: str) -> Progress | None:
    if progress is None:
        return None
    return lambda done, total, what: progress(done, total, f"{name} {what}")


__all__ = ["SETS", "headline", "run_suite", "squad_by_article", "whole_requests"]


def suite_markdown(result: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    """One table per set: each figure, and the previous run's beside it when given; then
    where answers were lost, where the result holds the waterfall."""
    from .evaluation import format_number, markdown_table
    from .waterfall import waterfall_markdown

    meta = result["meta"]
    lines = [
        f"# Evaluation suite: {meta['model']}",
        "",
        f"{meta['date']}, `{meta['command']}`, {meta['machine']['platform']}; seconds per set: "
        + ", ".join(f"{k} {v:.0f}" for k, v in meta.get("seconds", {}).items()),
        "",
    ]
    for name, figures in result["sets"].items():
        before = (previous or {}).get("sets", {}).get(name, {})
        header = ["figure", "this run"] + (["previous"] if previous else [])
        rows = [
            [key, format_number(value)]
            + ([format_number(before[key]) if key in before else "-"] if previous else [])
            for key, value in figures.items()
        ]
        lines += [f"## {name}", "", markdown_table(header, rows), ""]
    if result.get("waterfall"):
        lines += [
            "## Where answers are lost (rag_eval.waterfall)",
            "",
            waterfall_markdown(result["waterfall"]),
            "",
        ]
    return "\n".join(lines)


def waterfalls(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each set's waterfall (``rag_eval.waterfall``), RGB's per condition, where measured."""
    out: dict[str, Any] = {}
    for name, result in results.items():
        found = result.get("waterfall") or {}
        named = found.items() if name == "rgb" else [("", found)]
        for condition, w in named:
            if any(w.values()):  # a record from before stages were kept has none
                out[f"{name} {condition}".strip()] = w
    return out


def write_suite_report(
    result: dict[str, Any],
    out_dir: Path,
    previous: dict[str, Any] | None = None,
    name: str = "suite",
) -> list[Path]:
    """``<timestamp>-<name>-<model>.json`` (everything), its ``.md`` (the tables) and
    ``latest-<name>-<model>.json``; returns the paths."""
    import json

    from .evaluation import report_stem, slug

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = report_stem(result, name)
    text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
    paths = [
        out / f"{stem}.json",
        out / f"{stem}.md",
        out / f"latest-{name}-{slug(result['meta']['model'])}.json",
    ]
    paths[0].write_text(text, encoding="utf-8")
    paths[1].write_text(suite_markdown(result, previous), encoding="utf-8")
    paths[2].write_text(text, encoding="utf-8")
    return paths
