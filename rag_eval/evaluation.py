"""The seed evaluation: ask every question of ``eval/questions.jsonl``, score it, report it.

``run_seed_eval(assistant, questions)`` returns a dict whose six groups (``retrieval``,
``answers``, ``abstention``, ``citations``, ``unsupported_rate``, ``latency_ms``) are a
public contract read by other tools, plus ``per_kind``, ``items`` (one record per question)
and ``meta``. ``write_report`` turns it into a JSON file, a Markdown report with two plots,
and (given an earlier JSON) a table of deltas.

Scoring is split into pure functions (:func:`score_item`, :func:`aggregate`,
:func:`citation_support`, :func:`deltas`) so each can be tested on plain values. This
module does not build the assistant or ingest anything: the CLI does that.

Support of a sentence by a passage is ``rag.citations.supports(claim, passage) >= 0.6``,
the same lexical test (content words and every number) the assistant uses to keep or drop
sentences, without the assistant's extra "names must appear" requirement. So ``citations``
precision and ``unsupported_rate`` measure the checked answer with the checker's own yardstick:
they should be 1.0 and 0.0, and anything else means an answer got through unverified.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.assistant import normalize_history
from rag.chunking import sentence_spans
from rag.citations import SUPPORT_THRESHOLD, markers, split_clauses, strip_markers, supports
from rag.conflicts import quoted_figure
from rag.draft import Draft, date_passage
from rag.embedding import index_suffix
from rag.errors import InputError
from rag.followup import plan
from rag.records import Answer, Citation, Hit
from rag.settings import PROJECT_ROOT, Settings

from .metrics import (
    answer_matches,
    median,
    mrr_at_k,
    ndcg_at_k,
    normalize_answer,
    percentile,
    recall_at_k,
)
from .waterfall import gold, tally, traced

if TYPE_CHECKING:
    from rag.assistant import Assistant

DEFAULT_SET = PROJECT_ROOT / "eval" / "questions.jsonl"
RESULTS_DIR = PROJECT_ROOT / "eval" / "results"
SEEDS_DIR = PROJECT_ROOT / "seeds"

GROUPS = ("retrieval", "answers", "abstention", "citations", "unsupported_rate", "latency_ms")
"""The top-level keys of the public contract, in order."""

Progress = Callable[[int, int, str], None]  # (questions done, total, current id)

_REQUIRED = {"id": str, "question": str, "answerable": bool, "kind": str}
_LISTS = ("answers", "sources")


# --------------------------------------------------------------------------------------
# The question set
# --------------------------------------------------------------------------------------


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    """The questions of a JSONL set; InputError naming the file and line for a bad one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Question set {path} not found: give an existing .jsonl file to --set.")
    return read_rows(path, _problem, "questions")


def read_rows(path: Path, problem_of: Callable[[Any], str], what: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file, one a line, each checked by ``problem_of`` (what is
    wrong with it, or ""); ids unique when given; InputError naming the file and line."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} line {lineno} is not valid JSON: {exc.msg}.") from None
        problem = problem_of(row)
        if not problem and "id" in row and row["id"] in seen:
            problem = f"id {row['id']!r} is used twice"
        if problem:
            raise InputError(f"{path} line {lineno}: {problem}.")
        seen.add(row.get("id"))
        rows.append(row)
    if not rows:
        raise InputError(f"{path} holds no {what}: one JSON object per line is expected.")
    return rows


def _problem(row: Any) -> str:
    """What is wrong with one question record, or "" if nothing.

    >>> _problem({"id": "q1", "question": "Why?", "answerable": True, "kind": "fact"})
    "'answers' must be a list of strings"
    """
    if not isinstance(row, dict):
        return "expected a JSON object"
    for name, kind in _REQUIRED.items():
        if not isinstance(row.get(name), kind):
            return f"{name!r} is missing or not a {kind.__name__}"
    for name in (*_LISTS, "all_of"):
        value = row.get(name, [] if name == "all_of" else None)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{name!r} must be a list of strings"
    if row["answerable"] and not row["answers"] and not row.get("all_of"):
        return "an answerable question needs 'answers' or 'all_of'"
    pages = row.get("pages", [])
    if not isinstance(pages, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in pages
    ):
        return "'pages' must be a list of page numbers (integers from 1)"
    history = row.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and isinstance(t.get("question"), str) for t in history
    ):
        return '\'history\' must be a list of {"question", "answer"} objects'
    return ""


def spread(items: Sequence[Any], n: int | None) -> list[Any]:
    """``n`` items spread evenly over the sequence (all of it when n is None or too big).

    Used by ``--limit`` so a short run still sees every kind of question.

    >>> spread(list(range(10)), 3)
    [0, 3, 6]
    >>> spread("ab", 5), spread([1, 2], None)
    (['a', 'b'], [1, 2])
    """
    if n is None or n >= len(items):
        return list(items)
    if n < 1:
        return []
    return [items[i * len(items) // n] for i in range(n)]


# --------------------------------------------------------------------------------------
# Scoring one question
# --------------------------------------------------------------------------------------


def distinct_sources(hits: Iterable[Hit]) -> list[str]:
    """Source file names in rank order, each once.

    >>> distinct_sources([Hit("b.txt", "1", 1, "", 0, 0), Hit("a.txt", "2", 1, "", 0, 0), Hit("b.txt", "3", 1, "", 0, 0)])
    ['b.txt', 'a.txt']
    """
    return list(dict.fromkeys(h.source for h in hits))


def claims(text: str) -> list[tuple[str, list[int]]]:
    """Each sentence of an answer as ``(sentence without markers, passage numbers it cites)``.

    >>> claims("It lasted 90 minutes [1]. Both met in Geneva [1][2].")
    [('It lasted 90 minutes.', [1]), ('Both met in Geneva.', [1, 2])]
    >>> claims("")
    []
    >>> claims('He said it was "very serious." [1].')  # markers after a closing quote
    [('He said it was "very serious."', [1])]
    """
    out: list[tuple[str, list[int]]] = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        claim = strip_markers(sentence)
        if normalize_answer(claim):
            out.append((claim, markers(sentence)))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + markers(sentence))
    return out


@dataclass(frozen=True)
class Support:
    """How well an answer's citations back its sentences."""

    citations: int  # citations returned
    supported_citations: int  # whose passage supports every sentence citing it
    unsupported: list[str] = field(default_factory=list)  # sentences no cited passage supports


def citation_support(
    text: str, citations: Sequence[Citation], threshold: float = SUPPORT_THRESHOLD
) -> Support:
    """Check every sentence of ``text`` against the passages it cites.

    A citation counts as supported when at least one sentence cites it and its passage
    supports every sentence that does; a sentence is unsupported when none of the passages
    it cites (among ``citations``) supports it, which includes citing nothing.

    Passages are read as the model read them (weekdays with their dates), and a note on a
    differing figure is judged by the sentence it quotes.

    >>> c = Citation(1, "a.txt", "c1", 0, 40, "The meeting lasted around 90 minutes.")
    >>> citation_support("It lasted 90 minutes [1]. It was in Paris [1].", [c])
    Support(citations=1, supported_citations=0, unsupported=['It was in Paris.'])
    >>> d = Citation(2, "b.txt", "c2", 0, 40, "They met in Geneva on January 21.")
    >>> citation_support("They met on January 21, and it lasted 90 minutes [2] [1].", [c, d])
    Support(citations=2, supported_citations=2, unsupported=[])
    """
    sentences = claims(text)
    by_n = {c.n: c for c in citations}

    def backs(claim: str, n: int) -> bool:
        c = by_n[n]
        passage = date_passage(
            n, Hit(c.source, c.chunk_id, 0.0, c.text, c.start, c.end, date=c.date)
        )
        return supports(quoted_figure(claim), passage.context) >= threshold

    score = {(claim, n): backs(claim, n) for claim, cited in sentences for n in cited if n in by_n}
    for claim, cited in sentences:  # two statements, each backed by its own citation
        ns = [n for n in cited if n in by_n]
        parts = split_clauses(claim)
        if len(parts) > 1 and not all(score[(claim, n)] for n in ns):
            backing = [[n for n in ns if backs(part, n)] for part in parts]
            if all(backing):
                score.update({(claim, n): True for b in backing for n in b})
    supported = 0
    for c in citations:
        citing = [claim for claim, cited in sentences if c.n in cited]
        supported += bool(citing) and all(score[(claim, c.n)] for claim in citing)
    unsupported = [
        claim for claim, cited in sentences if not any(score.get((claim, n)) for n in cited)
    ]
    return Support(len(citations), supported, unsupported)


def score_item(
    question: Mapping[str, Any], answer: Answer, ranking: Sequence[str]
) -> dict[str, Any]:
    """The per-question record: what was asked, answered, cited and retrieved, and whether
    it was right. ``ranking`` is the distinct retrieved source names, best first.

    ``correct`` means the right behaviour: for an answerable question, not abstained and
    ``answer_matches(answer, answers, all_of)``; for an unanswerable one, abstained.

    A question with ``pages`` (the PDF pages, from 1, that state its answer) also gets
    ``expected_pages``, ``cited_pages`` (``[source, page]`` of each citation that has a
    page) and ``cites_page``: for a right answer, whether one of its citations is of one of
    the expected ``sources`` (any file when there are none) on one of those pages; None
    when the answer is not right (or the question unanswerable).
    """
    answerable = bool(question["answerable"])
    if answerable:
        correct = not answer.abstained and answer_matches(
            answer.answer, question["answers"], question.get("all_of")
        )
        relevant = set(question["sources"])
        retrieval = {
            "recall@5": recall_at_k(ranking, relevant, 5),
            "mrr@10": mrr_at_k(ranking, relevant, 10),
            "ndcg@10": ndcg_at_k(ranking, relevant, 10),
        }
    else:
        correct, retrieval = answer.abstained, {}
    support = (
        citation_support(answer.answer, answer.citations) if not answer.abstained else Support(0, 0)
    )
    cited = list(dict.fromkeys(c.source for c in answer.citations))
    item: dict[str, Any] = {
        "id": question["id"],
        "kind": question["kind"],
        "question": question["question"],
        "answerable": answerable,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "correct": bool(correct),
        "cited_sources": cited,
        "expected_sources": list(question["sources"]),
        "cites_expected": bool(set(cited) & set(question["sources"])),
        "retrieved_sources": list(ranking),
        "retrieval": retrieval,
        "citations": support.citations,
        "supported_citations": support.supported_citations,
        "unsupported_sentences": support.unsupported,
        "model_asked": bool(answer.model),
        "timings_ms": dict(answer.timings_ms),
        "confidence": answer.confidence,
        "likelihood": answer.likelihood,
    }
    if "pages" in question:
        item.update(page_citation(question, answer, bool(answerable and correct)))
    return item


def page_citation(question: Mapping[str, Any], answer: Answer, right: bool) -> dict[str, Any]:
    """The page fields of a question with ``pages``: see :func:`score_item`.

    >>> q = {"pages": [3], "sources": ["a.pdf"]}
    >>> cite = lambda source, page: Citation(1, source, "c", 0, 1, "x", page=page)
    >>> page_citation(q, Answer("x", False, [cite("a.pdf", 2), cite("a.pdf", 3)]), True)
    {'expected_pages': [3], 'cited_pages': [['a.pdf', 2], ['a.pdf', 3]], 'cites_page': True}
    >>> page_citation(q, Answer("x", False, [cite("b.pdf", 3)]), True)["cites_page"]
    False
    >>> page_citation(q, Answer("x", False, [cite("a.pdf", 3)]), False)["cites_page"] is None
    True
    """
    expected = [int(p) for p in question["pages"]]
    sources = set(question.get("sources") or [])
    cited = [[c.source, c.page] for c in answer.citations if c.page is not None]
    hit = any(page in expected and (not sources or source in sources) for source, page in cited)
    return {"expected_pages": expected, "cited_pages": cited, "cites_page": hit if right else None}


# --------------------------------------------------------------------------------------
# Aggregating
# --------------------------------------------------------------------------------------


def _share(hits: int, total: int) -> float:
    """``hits / total``, or 0.0 when there is nothing to count.

    >>> _share(1, 4), _share(0, 0)
    (0.25, 0.0)
    """
    return hits / total if total else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def aggregate(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The six contract groups plus ``per_kind``, from per-question records.

    Every rate is a share in [0, 1]; a rate with nothing to count is 0.0. Latencies are
    over all questions, including those the relevance gate answered without the model.
    When some questions have ``pages`` (PDF sets), ``citations`` also holds ``page_right``,
    the share of their right answers that cite a right page (``cites_page``), and
    ``n_page_scored``, how many right answers that share is over.
    """
    answerable = [i for i in items if i["answerable"]]
    unanswerable = [i for i in items if not i["answerable"]]
    answered = [i for i in answerable if not i["abstained"]]
    spoken = [i for i in items if not i["abstained"]]

    def latency(name: str) -> list[float]:
        return [float(i["timings_ms"].get(name, 0.0)) for i in items]

    kinds: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        kinds.setdefault(item["kind"], []).append(item)
    result: dict[str, Any] = {
        "retrieval": {
            name: _mean([i["retrieval"][name] for i in answerable])
            for name in ("recall@5", "mrr@10", "ndcg@10")
        },
        "answers": {
            "accuracy": _share(sum(i["correct"] for i in answerable), len(answerable)),
            "false_abstention_rate": _share(
                sum(i["abstained"] for i in answerable), len(answerable)
            ),
            "n": len(answerable),
        },
        "abstention": {
            "accuracy": _share(sum(i["abstained"] for i in unanswerable), len(unanswerable)),
            "n": len(unanswerable),
        },
        "citations": {
            "precision": _share(
                sum(i["supported_citations"] for i in items), sum(i["citations"] for i in items)
            ),
            "source_recall": _share(sum(i["cites_expected"] for i in answered), len(answered)),
        },
        "unsupported_rate": _share(
            sum(bool(i["unsupported_sentences"]) for i in spoken), len(spoken)
        ),
        "latency_ms": {
            "first_token_p50": median(latency("first_token")),
            "first_token_p95": percentile(latency("first_token"), 95),
            "total_p50": median(latency("total")),
            "retrieve_p50": median(latency("retrieve")),
        },
        "per_kind": {
            kind: {
                "accuracy": _share(sum(i["correct"] for i in group), len(group)),
                "n": len(group),
            }
            for kind, group in sorted(kinds.items())
        },
        "waterfall": tally(items),  # where each question was lost (rag_eval.waterfall)
    }
    if any("expected_pages" in i for i in items):  # only sets with pages: others unchanged
        scored = [i for i in items if i.get("cites_page") is not None]
        result["citations"]["page_right"] = _share(
            sum(bool(i["cites_page"]) for i in scored), len(scored)
        )
        result["citations"]["n_page_scored"] = len(scored)
    return result


def contract(result: Mapping[str, Any]) -> dict[str, Any]:
    """Only the six public groups of a result (what ``rag eval --json`` prints)."""
    return {name: result[name] for name in GROUPS}


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def run_seed_eval(
    assistant: Assistant,
    questions: list[dict[str, Any]],
    *,
    k: int = 10,
    progress: Progress | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Ask every question, score each answer and aggregate: see the module docstring.

    Retrieval is scored on the distinct source files of ``assistant.retriever.search``'s
    ``k`` hits (with the follow-up query the assistant itself adds); answers, citations and
    timings on ``assistant.stream``, whose text pieces are kept as the item's ``reply`` (the
    model's raw words, before checking) so abstentions can be traced to model or checker.
    """
    assistant.warm_up()  # load the models now: the first question's latency is not a load time
    items = []
    models: list[str] = []
    for done, q in enumerate(questions):
        if progress:
            progress(done, len(questions), q["id"])
        history = q.get("history") or []
        turns = normalize_history(history)[-assistant.settings.history_turns :]
        searched = plan(q["question"], turns)  # as Assistant.prepare searches
        ranking = distinct_sources(
            assistant.retriever.search(
                searched.query, k, extra_queries=searched.extra, extra_weight=searched.weight
            )
        )
        trail: list[tuple[str, Draft]] = []
        pieces = list(assistant.stream(q["question"], history=history, trail=trail))
        answer = pieces[-1]
        if not isinstance(answer, Answer):
            raise TypeError("Assistant.stream() must end with an Answer")
        if answer.model:
            models.append(answer.model)
        item = score_item(q, answer, ranking)
        item["reply"] = (
            "".join(p for p in pieces[:-1] if isinstance(p, str)) if answer.model else ""
        )
        item["stage"] = traced(assistant, q["question"], history, item["reply"], trail).stage(
            item["answerable"], gold(q.get("answers") or [], q.get("all_of")), item["correct"]
        )
        items.append(item)
    if progress:
        progress(len(questions), len(questions), "")
    result = aggregate(items)
    result["items"] = items
    model = models[0] if models else model_name(assistant.settings.model)
    result["meta"] = run_meta(assistant.settings, model, command, questions=len(questions), k=k)
    return result


def model_name(model: str) -> str:
    """A preset name as is; a GGUF path as its file stem.

    >>> model_name("qwen2.5-coder-0.5b"), model_name("/models/Phi-3.gguf")
    ('qwen2.5-coder-0.5b', 'Phi-3')
    """
    return Path(model).stem if model.endswith(".gguf") else model


_SETTINGS_SHOWN = (
    "embed_model", "embed_backend", "embed_precision", "retrieval", "top_k", "focus_sentences",
    "min_relevance", "chunk_tokens", "chunk_overlap", "n_ctx", "max_tokens", "seed",
    "collection", "verify_figures", "decline_confidence",
)  # fmt: skip


def run_meta(
    settings: Settings, model: str, command: str | None = None, **extra: Any
) -> dict[str, Any]:
    """What produced a result: model, settings, date, machine and command line."""
    shown = {name: getattr(settings, name) for name in _SETTINGS_SHOWN}
    shown.update(
        home=str(settings.home), llm_url=bool(settings.llm_url), threads=settings.n_threads
    )
    return {
        "model": model,
        "settings": shown,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
        },
        "command": command if command is not None else shlex.join(sys.argv),
        **extra,
    }


# --------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFiles:
    """The files one ``write_report`` call wrote."""

    json: Path
    markdown: Path
    plots: list[Path]
    latest: Path


def flatten(result: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Every number of a result as ``{"group.name": value}``, skipping meta, items and
    published figures.

    >>> flatten({"answers": {"accuracy": 0.5, "n": 4}, "unsupported_rate": 0.0, "meta": {"x": 1}})
    {'answers.accuracy': 0.5, 'answers.n': 4, 'unsupported_rate': 0.0}
    """
    out: dict[str, float] = {}
    for key, value in result.items():
        if not prefix and key in ("meta", "items", "published"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = value
    return out


def deltas(
    current: Mapping[str, Any], previous: Mapping[str, Any]
) -> list[tuple[str, float | None, float | None, float | None]]:
    """``(metric, previous, now, now - previous)`` for every number in either result.

    >>> deltas({"answers": {"accuracy": 0.75}}, {"answers": {"accuracy": 0.5}, "x": 1})
    [('answers.accuracy', 0.5, 0.75, 0.25), ('x', 1, None, None)]
    """
    now, before = flatten(current), flatten(previous)
    names = list(now) + [n for n in before if n not in now]
    return [
        (
            name,
            before.get(name),
            now.get(name),
            now[name] - before[name] if name in now and name in before else None,
        )
        for name in names
    ]


def load_result(path: str | Path) -> dict[str, Any]:
    """An earlier result JSON (for ``--compare``); InputError if it cannot be read."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path} not found: give --compare an earlier result .json file."
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not a result JSON file ({exc}).") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a result JSON file (expected an object).")
    return data


def slug(text: str) -> str:
    """A file- and collection-name-safe form of ``text``.

    >>> slug("qwen2.5-coder-0.5b"), slug("/models/My Model!")
    ('qwen2.5-coder-0.5b', 'models-My-Model')
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "x"


def report_stem(result: Mapping[str, Any], name: str = "") -> str:
    """``<timestamp>-[<name>-]<model>`` from the result's meta (UTC timestamp)."""
    meta = result["meta"]
    when = dt.datetime.fromisoformat(meta["date"]).strftime("%Y%m%dT%H%M%SZ")
    return "-".join(p for p in (when, slug(name) if name else "", slug(meta["model"])) if p)


def write_report(
    result: Mapping[str, Any],
    out_dir: str | Path = RESULTS_DIR,
    previous: str | Path | None = None,
) -> ReportFiles:
    """Write the seed-eval result as JSON, Markdown and two PNG plots, plus
    ``latest-<model>.json``; with ``previous`` (an earlier JSON), a table of deltas too."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = report_stem(result)
    data = dict(result)
    compared = None
    if previous is not None:
        compared = load_result(previous)
        data["compared_with"] = str(previous)
    json_path = out / f"{stem}.json"
    text = json.dumps(data, indent=2, ensure_ascii=False)
    json_path.write_text(text + "\n", encoding="utf-8")
    latest = out / f"latest-{slug(result['meta']['model'])}.json"
    latest.write_text(text + "\n", encoding="utf-8")
    plots = [
        _plot_kinds(result, out / f"{stem}-per-kind.png"),
        _plot_latency(result, out / f"{stem}-latency.png"),
    ]
    markdown = out / f"{stem}.md"
    markdown.write_text(
        seed_markdown(result, [p.name for p in plots], compared, previous), encoding="utf-8"
    )
    return ReportFiles(json_path, markdown, plots, latest)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table.

    >>> print(markdown_table(["a", "b"], [[1, 0.5]]))
    | a | b |
    |---|---|
    | 1 | 0.500 |
    """

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return format_number(v)
        return "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def format_number(value: float) -> str:
    """Rates with three decimals, small numbers with one, large ones (milliseconds) with none.

    >>> format_number(0.75), format_number(8.94), format_number(1234.5), format_number(12)
    ('0.750', '8.9', '1234', '12')
    """
    if isinstance(value, int):
        return str(value)
    if abs(value) <= 1:
        return f"{value:.3f}"
    return f"{value:.1f}" if abs(value) < 10 else f"{value:.0f}"


def delta_table(
    current: Mapping[str, Any], previous: Mapping[str, Any], where: str | Path | None = None
) -> str:
    rows = [
        (name, old, new, None if d is None else ("+" if d >= 0 else "-") + format_number(abs(d)))
        for name, old, new, d in deltas(current, previous)
    ]
    when = previous.get("meta", {}).get("date", "?")
    return f"## Compared with {where or 'the previous run'} ({when})\n\n" + markdown_table(
        ["metric", "before", "now", "delta"], rows
    )


def seed_markdown(
    result: Mapping[str, Any],
    plots: Sequence[str] = (),
    previous: Mapping[str, Any] | None = None,
    previous_path: str | Path | None = None,
) -> str:
    """The Markdown report of a seed evaluation."""
    meta = result["meta"]
    s = meta["settings"]
    parts = [
        f"# Seed evaluation: {meta['model']}, {meta['date']}",
        f"`{meta['command']}` on {meta['machine']['platform']} ({meta['machine']['cpu_count']} CPUs); "
        f"{meta.get('questions', len(result.get('items', [])))} questions; embeddings {s['embed_model']}, "
        f"retrieval {s['retrieval']}, top_k {s['top_k']}, min_relevance {s['min_relevance']}.",
        "## Summary\n\n"
        + markdown_table(
            ["metric", "value"], [(n, v) for n, v in flatten(contract(result)).items()]
        ),
        "## Per kind\n\n"
        + markdown_table(
            ["kind", "n", "accuracy"],
            [(k, v["n"], v["accuracy"]) for k, v in result["per_kind"].items()],
        )
        + "\n\nFor answerable kinds: answered correctly; for unanswerable ones: abstained.",
    ]
    parts += [f"![{name}]({name})" for name in plots]
    if previous is not None:
        parts.append(delta_table(result, previous, previous_path))
    wrong = [i for i in result.get("items", []) if not i["correct"]]
    if wrong:
        parts.append(
            "## Wrong answers\n\n"
            + markdown_table(
                ["id", "kind", "question", "answer", "cited"],
                [
                    (
                        i["id"],
                        i["kind"],
                        i["question"],
                        i["answer"][:200],
                        ", ".join(i["cited_sources"]),
                    )
                    for i in wrong
                ],
            )
        )
    return "\n\n".join(parts) + "\n"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_kinds(result: Mapping[str, Any], path: Path) -> Path:
    plt = _pyplot()
    per_kind = result["per_kind"]
    labels = [f"{kind}\n(n={row['n']})" for kind, row in per_kind.items()]
    values = [row["accuracy"] for row in per_kind.values()]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bars = ax.bar(labels, values, color="#4c72b0")
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=2)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"Accuracy per kind ({result['meta']['model']})")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _plot_latency(result: Mapping[str, Any], path: Path) -> Path:
    plt = _pyplot()
    items = result.get("items", [])
    series = {
        name: [i["timings_ms"].get(name, 0.0) / 1000 for i in items]
        for name in ("first_token", "total")
    }
    top = max((v for values in series.values() for v in values), default=0.0) or 1.0
    bins = [top * b / 20 for b in range(21)]  # shared, so the two series line up
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, values in series.items():
        ax.hist(values, bins=bins, alpha=0.6, label=name.replace("_", " "))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("seconds")
    ax.set_ylabel("questions")
    ax.set_title(f"Latency ({result['meta']['model']})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def seed_assistant(
    settings: Settings,
    *,
    embedder: Any = None,
    generator: Any = None,
    seeds: Path = SEEDS_DIR,
    name: str = "seeds",
    only: Sequence[str] | None = None,
) -> Assistant:
    """An assistant over the documents in ``seeds`` only (the seed articles unless told; of
    those, the files named in ``only`` when given), in its own collection of
    ``settings.home`` (``eval-<name>-<embedding model>``, ``-onnx-int8`` added for that
    backend), so the user's documents never change the scores. Ingesting is idempotent:
    unchanged documents are skipped."""
    from rag.assistant import Assistant

    suffix = index_suffix(settings.embed_backend)
    collection = slug(f"eval-{name}-{Path(settings.embed_model).name}{suffix}")[:200]
    assistant = Assistant(
        settings.with_(collection=collection), embedder=embedder, generator=generator
    )
    assistant.ingest([seeds] if only is None else [seeds / file for file in only])
    return assistant
