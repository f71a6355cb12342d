"""Public benchmarks: SciFact retrieval, SQuAD 2.0 end to end, RGB counterfactual robustness.

``run_benchmark(name, settings, limit=None)`` returns one dict per run with ``benchmark``,
``n``, the metrics, ``published`` figures where they exist and ``meta``; ``squad2`` and
``rgb`` add ``items`` (one record per question). The data files are read from
``../shared/datasets`` (see its README); nothing is downloaded.

Benchmark indexes live in their own collections under ``<RAG_HOME>/benchmarks`` (never the
user's documents), named after the benchmark and the embedding model, and are reused on the
next run when every document is already there with the same content. Each document is
written as a file (``<doc id>.txt``) and ingested with the same ``Indexer`` as ``rag ingest``,
so the benchmark measures the very chunks and index users get.

What the numbers mean, and what they deliberately do not:

* ``scifact`` ranks documents by their best chunk (hits mapped to the doc id, first
  occurrence kept), so it is not the whole-abstract BM25 of the published figure;
* ``squad2`` asks through the whole assistant (retrieval over all 646 paragraphs, the
  relevance gate, the model, the checker); the assistant answers in sentences, so SQuAD's
  exact match is harsh and ``answer_match`` (a gold answer contained in the answer) is given
  beside it. Answerable and unanswerable halves are never blended;
* ``rgb`` skips retrieval and the relevance gate: the given snippets go straight into the
  same prompt, generator and checker, so it measures the model and the checker only.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag.assistant import Assistant, answer_of, decline_rule
from rag.checks import Tools, enabled, review
from rag.citations import strip_markers
from rag.confidence import confidence
from rag.draft import Draft, Passage, date_passages
from rag.embedding import Embedder, embedder_for, index_suffix
from rag.errors import InputError
from rag.generation import Generator, Likelihood
from rag.ingest import Indexer
from rag.prompting import build_messages, load_templates
from rag.records import Answer, Hit
from rag.retrieval import Retriever, open_store
from rag.settings import Settings
from rag.store import Store

from .datasets import DEFAULT_DIR, load_rgb, load_scifact, load_squad2, squad_paragraphs
from .evaluation import model_name, run_meta, slug
from .metrics import (
    answer_matches,
    exact_match,
    f1_score,
    median,
    ndcg_at_k,
    percentile,
    recall_at_k,
)
from .waterfall import gold, tally, texts_stage

BENCHMARKS = ("scifact", "squad2", "rgb")

PUBLISHED = {
    "scifact": {
        "bm25 (rank-bm25, k1=1.5, b=0.75)": {"ndcg@10": 0.685},
        "bge-small-en-v1.5 (dense)": {"ndcg@10": 0.713, "recall@10": 0.836},
        "all-MiniLM-L6-v2 (dense, leaderboard, not re-checked)": {"ndcg@10": 0.645},
    },
    "squad2": {"always abstain (exact match on the whole dev half)": {"exact_match": 0.521}},
    "rgb": {},
}

Progress = Callable[[int, int, str], None]


def run_benchmark(
    name: str,
    settings: Settings,
    limit: int | None = None,
    *,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    home: Path | None = None,
    data_dir: Path = DEFAULT_DIR,
    progress: Progress | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Run one benchmark; ``limit`` caps the questions (for squad2: each half).

    ``embedder`` and ``generator`` default to the configured ones; ``home`` to
    ``settings.home / "benchmarks"``.
    """
    if name not in BENCHMARKS:
        raise InputError(f"Unknown benchmark {name!r}: choose one of {', '.join(BENCHMARKS)}.")
    embedder = embedder or embedder_for(settings)
    home = Path(home) if home is not None else settings.home / "benchmarks"
    bench_settings = settings.with_(home=home, collection=_collection(name, embedder))
    if name == "scifact":
        result = scifact(bench_settings, embedder, limit, data_dir, progress)
        model = embedder.name
    else:
        generator = generator or _load_generator(settings)
        run = squad2 if name == "squad2" else rgb
        result = run(bench_settings, embedder, generator, limit, data_dir, progress)
        model = model_name(generator.name)
    meta = run_meta(bench_settings, model, command, limit=limit)
    return {"benchmark": name, **result, "published": PUBLISHED[name], "meta": meta}


def _load_generator(settings: Settings) -> Generator:
    from rag.assistant import load_generator

    return load_generator(settings)


# --------------------------------------------------------------------------------------
# Indexing texts straight into a store
# --------------------------------------------------------------------------------------


def index_texts(
    settings: Settings, embedder: Embedder, texts: dict[str, str], progress: Progress | None = None
) -> tuple[Store, dict[str, Any]]:
    """Index ``{file name: text}`` into ``settings.collection`` the way ``rag ingest`` does:
    the texts are written as files to ``<home>/<collection>-docs/`` (only those that differ)
    and that folder is ingested, so unchanged documents are kept and stale ones removed.
    Returns the store and ``{documents, chunks, added, seconds}``.
    """
    began = time.perf_counter()
    folder = settings.home / f"{settings.collection}-docs"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        path = folder / name
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    for path in folder.iterdir():
        if path.name not in texts:
            path.unlink()
    store = open_store(settings, embedder, create=True)
    report = Indexer(settings, store, embedder).ingest([folder], progress)
    stats = {
        "documents": len(texts) - len(report.skipped),
        "chunks": report.chunks,
        "added": len(report.added) + len(report.updated),
        "seconds": round(time.perf_counter() - began, 1),
    }
    return store, stats


def _collection(benchmark: str, embedder: Embedder) -> str:
    """``scifact-all-MiniLM-L6-v2-onnx-int8``: one index per benchmark, embedding model and
    backend (the backends' vectors differ slightly; PyTorch's index has no suffix)."""
    suffix = index_suffix(getattr(embedder, "backend", "torch"))
    return slug(f"{benchmark}-{Path(embedder.name).name}{suffix}")[:55].strip("-._")


# --------------------------------------------------------------------------------------
# SciFact: retrieval quality, three ways
# --------------------------------------------------------------------------------------


SCIFACT_DEPTH = 60  # chunks fetched per query: SciFact's 3.6 chunks an abstract give 10+ abstracts


def doc_ranking(hits: Sequence[Hit]) -> list[str]:
    """Document ids (file stems) in rank order, first occurrence kept.

    >>> doc_ranking([Hit("12.txt", "a", 1, "", 0, 0), Hit("7.txt", "b", 1, "", 0, 0), Hit("12.txt", "c", 1, "", 0, 0)])
    ['12', '7']
    """
    return list(dict.fromkeys(Path(h.source).stem for h in hits))


def scifact(
    settings: Settings,
    embedder: Embedder,
    limit: int | None = None,
    data_dir: Path = DEFAULT_DIR,
    progress: Progress | None = None,
) -> dict[str, Any]:
    corpus, queries, qrels = load_scifact(data_dir)
    store, index = index_texts(
        settings, embedder, {f"{d}.txt": t for d, t in corpus.items()}, progress
    )
    chosen = list(queries.items())[:limit] if limit is not None else list(queries.items())
    retrieval: dict[str, dict[str, float]] = {}
    for mode in ("dense", "bm25", "hybrid"):
        retriever = Retriever(settings.with_(retrieval=mode), embedder=embedder, store=store)
        ndcg, recall, took = [], [], []
        for done, (qid, query) in enumerate(chosen):
            if progress:
                progress(done, len(chosen), f"scifact {mode}")
            began = time.perf_counter()
            ranking = doc_ranking(retriever.search(query, k=SCIFACT_DEPTH))
            took.append((time.perf_counter() - began) * 1000)
            ndcg.append(ndcg_at_k(ranking, qrels[qid], 10))
            recall.append(recall_at_k(ranking, qrels[qid], 10))
        retrieval[mode] = {
            "ndcg@10": _mean(ndcg),
            "recall@10": _mean(recall),
            "search_p50_ms": round(median(took), 1),
        }
    return {"n": len(chosen), "embed_model": embedder.name, "retrieval": retrieval, "index": index}


# --------------------------------------------------------------------------------------
# SQuAD 2.0: the whole assistant, answerable and unanswerable kept apart
# --------------------------------------------------------------------------------------


def squad2(
    settings: Settings,
    embedder: Embedder,
    generator: Generator,
    limit: int | None = None,
    data_dir: Path = DEFAULT_DIR,
    progress: Progress | None = None,
    per_half: int = 200,
) -> dict[str, Any]:
    half = per_half if limit is None else min(limit, per_half)
    items = load_squad2(data_dir, n_answerable=half, n_unanswerable=half, seed=0)
    texts = {f"{slug(pid)}.txt": text for pid, text in squad_paragraphs(data_dir)}
    store, index = index_texts(settings, embedder, texts, progress)
    assistant = Assistant(settings, embedder=embedder, generator=generator, store=store)
    records: list[dict[str, Any]] = []
    for done, item in enumerate(items):
        if progress:
            progress(done, len(items), "squad2")
        answer = assistant.ask(item.question)
        text = "" if answer.abstained else strip_markers(answer.answer)
        records.append(
            {
                "id": item.id,
                "question": item.question,
                "answerable": item.answerable,
                "answers": item.answers,
                "answer": answer.answer,
                "abstained": answer.abstained,
                "exact_match": exact_match(text, item.answers) if item.answerable else None,
                "f1": f1_score(text, item.answers) if item.answerable else None,
                "answer_match": answer_matches(text, item.answers) if item.answerable else None,
                "paragraph_shown": f"{slug(item.paragraph_id)}.txt"
                in {h.source for h in answer.passages},
                "timings_ms": dict(answer.timings_ms),
            }
        )
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    return {
        "n": len(records),
        "answerable": {
            "n": len(answerable),
            "exact_match": _mean([r["exact_match"] for r in answerable]),
            "f1": _mean([r["f1"] for r in answerable]),
            "answer_match": _mean([r["answer_match"] for r in answerable]),
            "false_abstention_rate": _mean([r["abstained"] for r in answerable]),
            "paragraph_recall": _mean([r["paragraph_shown"] for r in answerable]),
        },
        "unanswerable": {
            "n": len(unanswerable),
            "abstention_accuracy": _mean([r["abstained"] for r in unanswerable]),
        },
        "latency_ms": _latency(records),
        "index": index,
        "items": records,
    }


# --------------------------------------------------------------------------------------
# RGB: given passages, no retrieval
# --------------------------------------------------------------------------------------


def answer_from_texts(
    question: str,
    texts: Sequence[str],
    generator: Generator,
    settings: Settings,
    replies: list[str] | None = None,
    trail: list[tuple[str, Draft]] | None = None,
) -> Answer:
    """Answer ``question`` from the given passages with the assistant's prompt templates,
    generator and checks (``rag.checks``, as the settings turn them on); passage ``i`` (from
    1) is cited as source ``p{i}.txt``. The model's raw reply is appended to ``replies``;
    ``trail`` receives each check's draft.

    No retrieval, relevance gate or focus: the model always sees the whole passages. Other
    articles' differing figures are not noted (that needs a collection to search).
    """
    began = time.perf_counter()
    messages, shown = texts_prompt(question, texts, generator, settings)
    timings: dict[str, float] = {"retrieve": 0.0}
    reply = []
    likelihood = Likelihood()
    for piece in generator.stream(
        messages, settings.max_tokens, decline_rule(settings), likelihood
    ):
        timings.setdefault("first_token", _ms(began))
        reply.append(piece)
    timings.setdefault("first_token", _ms(began))
    answer = check_texts_reply(
        question, shown, "".join(reply), likelihood, generator, settings, trail
    )
    timings["total"] = _ms(began)
    answer.timings_ms = timings
    if replies is not None:
        replies.append("".join(reply))
    return answer


def texts_prompt(
    question: str, texts: Sequence[str], generator: Generator, settings: Settings
) -> tuple[list[dict[str, str]], list[Passage]]:
    """The prompt for ``question`` over ``texts`` (passage ``i`` is source ``p{i}.txt``) and
    the passages that fit in it."""
    hits = [Hit(f"p{i}.txt", f"p{i}", 1.0, t, 0, len(t)) for i, t in enumerate(texts, 1)]
    passages = date_passages(hits)
    budget = generator.n_ctx - settings.max_tokens - 16
    templates = load_templates(settings.prompts)
    messages, shown = build_messages(
        question, passages, [], templates, generator.count_tokens, budget
    )
    return messages, passages[: len(shown)]


def check_texts_reply(
    question: str,
    shown: list[Passage],
    reply: str,
    likelihood: Likelihood,
    generator: Generator,
    settings: Settings,
    trail: list[tuple[str, Draft]] | None = None,
) -> Answer:
    """The model's ``reply`` over the ``shown`` passages through the checks the settings
    turn on, other documents' figures aside (there is no index to search); ``trail``
    receives each check's draft (``rag.checks.review``)."""
    draft = Draft(question, question, shown, reply)
    draft.confidence = confidence(likelihood)
    tools = Tools(
        generator,
        load_templates(settings.prompts),
        min_confidence=settings.min_confidence,
        min_answers=settings.min_answers,
    )
    draft = review(draft, tools, enabled(settings, leave_out=["conflicts"]), trail)
    return answer_of(draft, {}, generator.name, asdict(likelihood))


def rgb_passages(item: Any, condition: str, n: int = 5, seed: int = 0) -> list[str]:
    """The passages for one RGB condition: ``positive`` (true snippets only), ``mixed``
    (``n // 2`` true and as many counterfactual snippets, in a seeded order) or ``negative``
    (irrelevant snippets only); at most ``n``."""
    if condition == "positive":
        return list(item.positive[:n])
    if condition == "negative":
        return list(item.negative[:n])
    half = max(1, n // 2)
    texts = list(item.positive[:half]) + list(item.positive_wrong[:half])
    random.Random(f"{seed}-{item.id}").shuffle(texts)
    return texts


def rgb(
    settings: Settings,
    embedder: Embedder,
    generator: Generator,
    limit: int | None = None,
    data_dir: Path = DEFAULT_DIR,
    progress: Progress | None = None,
    conditions: Sequence[str] = ("positive", "mixed", "negative"),
) -> dict[str, Any]:
    items = load_rgb(data_dir)[:limit]
    records = []
    for done, item in enumerate(items):
        if progress:
            progress(done, len(items), "rgb")
        record: dict[str, Any] = {"id": item.id, "query": item.query, "answer": item.answer}
        for condition in conditions:
            replies: list[str] = []
            trail: list[tuple[str, Draft]] = []
            texts = rgb_passages(item, condition)
            answer = answer_from_texts(item.query, texts, generator, settings, replies, trail)
            entry = rgb_entry(item, answer, replies[0])
            _, shown = texts_prompt(item.query, texts, generator, settings)
            entry["stage"] = texts_stage(
                condition != "negative", gold(item.answer), [p.focused for p in shown],
                replies[0], trail, entry["correct"],
            )  # fmt: skip
            record[condition] = entry
        records.append(record)
    return rgb_summary(records, conditions)


def rgb_entry(item: Any, answer: Answer, reply: str) -> dict[str, Any]:
    """One RGB answer scored: right, the planted fake repeated, abstained."""
    said = "" if answer.abstained else answer.answer
    return {
        "answer": answer.answer,
        "abstained": answer.abstained,
        "correct": answer_matches(said, item.answer),
        "fake": answer_matches(said, item.fake_answer),
        "timings_ms": dict(answer.timings_ms),
        "confidence": answer.confidence,
        "likelihood": answer.likelihood,
        "reply": reply,
    }


def rgb_summary(records: list[dict[str, Any]], conditions: Sequence[str]) -> dict[str, Any]:
    def rate(condition: str, key: str) -> float:
        return _mean([r[condition][key] for r in records if condition in r])

    return {
        "n": len(records),
        "positive": {
            "accuracy": rate("positive", "correct"),
            "abstention_rate": rate("positive", "abstained"),
        },
        "mixed": {
            "accuracy": rate("mixed", "correct"),
            "fake_repeated_rate": rate("mixed", "fake"),
            "abstention_rate": rate("mixed", "abstained"),
        },
        "negative": {"refusal_rate": rate("negative", "abstained")},
        "latency_ms": _latency([r[c] for r in records for c in conditions]),
        # Negative passages hold no answer: abstaining is right, as for an unanswerable question.
        "waterfall": {
            c: tally({"answerable": c != "negative", "stage": r[c].get("stage")} for r in records)
            for c in conditions
        },
        "items": records,
    }


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def _latency(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    def values(name: str) -> list[float]:
        return [float(r["timings_ms"].get(name, 0.0)) for r in records]

    return {
        "first_token_p50": median(values("first_token")),
        "first_token_p95": percentile(values("first_token"), 95),
        "total_p50": median(values("total")),
    }


def benchmark_markdown(result: dict[str, Any]) -> str:
    """A short Markdown report of a benchmark result."""
    from .evaluation import flatten, markdown_table

    meta = result["meta"]
    rows = [(name, value) for name, value in flatten(result).items()]
    published = [
        (system, metric, value)
        for system, figures in result.get("published", {}).items()
        for metric, value in figures.items()
    ]
    parts = [
        f"# Benchmark {result['benchmark']}: {meta['model']}, {meta['date']}",
        f"`{meta['command']}` on {meta['machine']['platform']} ({meta['machine']['cpu_count']} CPUs).",
        "## Results\n\n" + markdown_table(["metric", "value"], rows),
    ]
    if published:
        parts.append("## Published\n\n" + markdown_table(["system", "metric", "value"], published))
    return "\n\n".join(parts) + "\n"


def write_benchmark_report(
    result: dict[str, Any], out_dir: str | Path, previous: str | Path | None = None
) -> list[Path]:
    """Write ``<timestamp>-<benchmark>-<model>.json`` and ``.md`` (with deltas against an
    earlier result when ``previous`` is given) and ``latest-<benchmark>-<model>.json``."""
    from .evaluation import delta_table, load_result, report_stem

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = report_stem(result, result["benchmark"])
    markdown = benchmark_markdown(result)
    data = dict(result)
    if previous is not None:
        markdown += "\n" + delta_table(result, load_result(previous), previous) + "\n"
        data["compared_with"] = str(previous)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    paths = [out / f"{stem}.json", out / f"{stem}.md"]
    paths[0].write_text(text, encoding="utf-8")
    paths[1].write_text(markdown, encoding="utf-8")
    latest = out / f"latest-{slug(result['benchmark'])}-{slug(result['meta']['model'])}.json"
    latest.write_text(text, encoding="utf-8")
    return [*paths, latest]
