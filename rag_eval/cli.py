"""The ``rag eval`` and ``rag bench`` commands: thin faces over ``rag_eval.evaluation``,
``rag_eval.benchmarks`` and ``rag_eval.bench``. Each parses flags, builds settings, makes one
library call, writes the report files and prints a summary (or one JSON object with
``--json``).

Only click and the settings are imported here; everything heavy loads when a command runs.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from rag.errors import InputError
from rag.settings import PROJECT_ROOT, Settings

from . import SUITE_SETS

BENCHMARKS = ("scifact", "squad2", "rgb")
DEFAULT_SET = PROJECT_ROOT / "eval" / "questions.jsonl"
RESULTS_DIR = PROJECT_ROOT / "eval" / "results"
SUITE_DEFAULT = ",".join(SUITE_SETS)

_FLAGS = {
    "set_file": "--set",
    "limit": "--limit",
    "as_json": "--json",
    "benchmark": "--benchmark",
    "compare": "--compare",
    "model": "--model",
    "out": "--out",
    "suite": "--suite",
    "replay": "--replay",
    "calibrate": "--calibrate",
    "sets": "--sets",
}


@click.command("eval")
@click.option(
    "--set",
    "set_file",
    type=click.Path(path_type=Path),
    default=DEFAULT_SET,
    show_default="eval/questions.jsonl",
    help="Question set (JSONL, see eval/README.md).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Ask only N questions, spread over the set (benchmarks: the first N; squad2: N per half).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object of the headline metrics."
)
@click.option(
    "--benchmark",
    type=click.Choice(BENCHMARKS),
    default=None,
    help="Run a public benchmark from ../shared/datasets instead of the seed set.",
)
@click.option(
    "--compare",
    type=click.Path(path_type=Path),
    default=None,
    help="An earlier result .json: add a table of deltas to the report.",
)
@click.option(
    "--suite",
    is_flag=True,
    help="Run every set (seeds, manuals, PDFs, SQuAD 2.0 by article, RGB) in one run, "
    "side by side.",
)
@click.option(
    "--sets",
    default=SUITE_DEFAULT,
    show_default=True,
    help="With --suite or --replay: which sets, in this order (comma-separated).",
)
@click.option(
    "--replay",
    type=click.Path(path_type=Path),
    default=None,
    help="A --suite result .json: check its kept replies again under the current settings, "
    "without generating (how each check's ablation is measured).",
)
@click.option(
    "--calibrate",
    type=click.Path(path_type=Path),
    default=None,
    help="A --suite result .json: print each set's answered / abstained figures per "
    "RAG_MIN_CONFIDENCE threshold and the one SQuAD 2.0 chooses; plot them into --out.",
)
@click.option("--model", default=None, help="Preset name or GGUF path (overrides RAG_MODEL).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=RESULTS_DIR,
    show_default="eval/results",
    help="Where to write the report files.",
)
def eval_command(
    set_file: Path,
    limit: int | None,
    as_json: bool,
    benchmark: str | None,
    compare: Path | None,
    suite: bool,
    sets: str,
    replay: Path | None,
    calibrate: Path | None,
    model: str | None,
    out: Path,
) -> None:
    """Measure the assistant, offline and reproducibly (greedy decoding, seed 0).

    Without --benchmark: ingest seeds/ into its own collection (eval-seeds-<embedder>[-<backend>],
    idempotent), ask every question of the set and score retrieval, answers, abstention,
    citations and latency. Writes <timestamp>-<model>.json and .md with two plots, and
    latest-<model>.json, into --out.

    With --suite: every set in one run (over an hour on two cores), one table of
    figures per set, written to <timestamp>-suite-<model>.json/.md and latest-suite-<model>.json.

    Example: rag eval --limit 10, rag eval --benchmark scifact --json, or rag eval --suite
    """
    command = _command_line("eval", click.get_current_context().params)
    settings = Settings.from_env(model=model)
    if calibrate is not None:
        _calibrate(calibrate, out, as_json)
        return
    if suite or replay is not None:
        names = [n.strip() for n in sets.split(",") if n.strip()]
        unknown = sorted(set(names) - set(SUITE_SETS))
        if unknown or not names:
            raise InputError(f"--sets {sets!r}: choose from {', '.join(SUITE_SETS)}.")
        _run_suite(settings, limit, compare, out, as_json, command, replay, names)
        return
    if benchmark:
        result, files = _run_benchmark(benchmark, settings, limit, compare, out, as_json, command)
        if as_json:
            public = {key: value for key, value in result.items() if key != "items"}
            click.echo(json.dumps(public, indent=2, ensure_ascii=False))
        else:
            _print_benchmark(result, files)
        return

    from .evaluation import (
        contract,
        load_questions,
        load_result,
        run_seed_eval,
        seed_assistant,
        spread,
        write_report,
    )

    questions = spread(load_questions(set_file), limit)
    if compare is not None:
        load_result(compare)  # a bad file fails now, not after the run
    with _progress(not as_json, "Asking") as progress:
        assistant = seed_assistant(settings)
        result = run_seed_eval(assistant, questions, progress=progress, command=command)
    result["meta"]["set"] = str(set_file)
    report = write_report(result, out, previous=compare)
    if as_json:
        click.echo(json.dumps(contract(result), indent=2, ensure_ascii=False))
        return
    _print_seed(result, [report.json, report.markdown, *report.plots, report.latest])


def _run_benchmark(
    name: str,
    settings: Settings,
    limit: int | None,
    compare: Path | None,
    out: Path,
    quiet: bool,
    command: str,
) -> tuple[dict[str, Any], list[Path]]:
    """Run one benchmark and write its report: ``(result, files written)``."""
    from .benchmarks import run_benchmark, write_benchmark_report
    from .evaluation import load_result

    if compare is not None:
        load_result(compare)  # a bad file fails now, not after the run
    with _progress(not quiet, name) as progress:
        result = run_benchmark(name, settings, limit, progress=progress, command=command)
    return result, write_benchmark_report(result, out, previous=compare)


def _run_suite(
    settings: Settings,
    limit: int | None,
    compare: Path | None,
    out: Path,
    as_json: bool,
    command: str,
    replay: Path | None = None,
    names: list[str] | None = None,
) -> None:
    from .evaluation import load_result
    from .suite import SETS as SUITE_SETS
    from .suite import run_suite, write_suite_report

    previous = load_result(compare) if compare is not None else None
    with _progress(not as_json, "Suite") as progress:
        if replay is not None:
            from .replay import replay_suite

            kept = load_result(replay)
            if "results" not in kept:
                raise InputError(f"{replay} is not a `rag eval --suite` result: give --replay one.")
            if names:  # --sets: replay only those
                kept = {**kept, "results": {n: r for n, r in kept["results"].items() if n in names}}
            previous = previous or kept
            result = replay_suite(kept, settings, progress=progress, command=command)
        else:
            result = run_suite(
                settings, limit, sets=names or SUITE_SETS, progress=progress, command=command,
                checkpoint=lambda so_far: write_suite_report(so_far, out, previous, name="partial-suite"),
            )  # fmt: skip
    files = write_suite_report(result, out, previous, name="replay" if replay else "suite")
    if as_json:
        keys = ("sets", "waterfall", "meta")
        click.echo(json.dumps({k: result[k] for k in keys if k in result}, indent=2))
        return
    click.echo(files[1].read_text(encoding="utf-8"))
    click.echo("Wrote " + ", ".join(str(f) for f in files))


def _calibrate(path: Path, out: Path, as_json: bool) -> None:
    from .calibrate import TOLERANCE, choose, curves, plot
    from .evaluation import load_result, markdown_table

    result = load_result(path)
    if "results" not in result:
        raise InputError(f"{path} is not a `rag eval --suite` result: give --calibrate one.")
    curve = curves(result)
    chosen = choose(curve) if curve else 0.5
    if as_json:
        click.echo(json.dumps({"chosen": chosen, "curves": curve}, indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    picture = plot(curve, chosen, out / f"{path.stem}-confidence.png")
    shown = [t for t in sorted({0.5, chosen, *(round(0.05 * i, 2) for i in range(10, 20))})]
    for name, rows in curve.items():
        table = [
            [r["threshold"], r["answered_right"], r["abstained"], r["balanced"]]
            for r in rows
            if r["threshold"] in shown
        ]
        click.echo(
            f"\n{name}\n"
            + markdown_table(["threshold", "answered right", "abstained", "balanced"], table)
        )
    click.echo(
        f"\nChosen on {', '.join(curve)} together (mean balanced accuracy within "
        f"{TOLERANCE} of its best, the lowest such): RAG_MIN_CONFIDENCE={chosen}. Plot: {picture}"
    )


def _print_benchmark(result: dict[str, Any], files: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    from .evaluation import flatten, format_number

    table = Table(title=f"{result['benchmark']}: {result['meta']['model']}, n = {result['n']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for metric, value in flatten(result).items():
        table.add_row(metric, format_number(value))
    for system, figures in result.get("published", {}).items():
        for metric, value in figures.items():
            table.add_row(f"published: {system} {metric}", format_number(value), style="dim")
    console = Console()
    console.print(table)
    console.print("Wrote " + ", ".join(str(f) for f in files))


def _print_seed(result: dict[str, Any], files: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    from .evaluation import contract, flatten, format_number

    console = Console()
    meta = result["meta"]
    table = Table(title=f"Seed evaluation: {meta['model']}, {meta['questions']} questions")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for metric, value in flatten(contract(result)).items():
        table.add_row(metric, format_number(value))
    console.print(table)
    kinds = Table(title="Per kind (answerable: correct; unanswerable: abstained)")
    kinds.add_column("kind")
    kinds.add_column("n", justify="right")
    kinds.add_column("accuracy", justify="right")
    for kind, row in result["per_kind"].items():
        kinds.add_row(kind, str(row["n"]), format_number(row["accuracy"]))
    console.print(kinds)
    console.print("Wrote " + ", ".join(str(f) for f in files))


def _command_line(name: str, params: dict[str, Any]) -> str:
    """The command as a user would type it, defaults left out.

    >>> _command_line("eval", {"limit": 10, "as_json": True, "model": None, "out": RESULTS_DIR})
    'rag eval --limit 10 --json'
    """
    parts = ["rag", name]
    for key, value in params.items():
        if value in (None, False) or value in (
            DEFAULT_SET,
            RESULTS_DIR,
            SUITE_DEFAULT,
        ):
            continue
        parts += [_FLAGS[key]] if value is True else [_FLAGS[key], str(value)]
    return shlex.join(parts)


@contextmanager
def _progress(show: bool, label: str) -> Iterator[Any]:
    """A transient progress bar on stderr, yielding the ``(done, total, what)`` callback the
    library calls; yields None (no bar) when ``show`` is false."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{label} {what}")

        yield update


@click.command("bench")
@click.option("--quick", is_flag=True, help="A smaller run that finishes in a few minutes.")
@click.option(
    "--only",
    multiple=True,
    metavar="PART",
    help="Run only this part (repeatable): ingest, pdf, retrieval, answers, server, cold_start.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
def bench_command(quick: bool, only: tuple[str, ...], as_json: bool) -> None:
    """Measure ingestion, retrieval, answering, serving and start-up speed on this machine.

    Reports medians and p95s, and ratios against baselines measured in the same run.
    Example: rag bench --quick
    """
    from .bench import run_bench

    result = run_bench(Settings.from_env(), quick=quick, only=only)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    for key in (
        "first_token_ms_p50",
        "answer_ms_p50",
        "retrieve_ms_p50",
        "ingest_chunks_per_s",
        "pdf_ms_per_page",
        "pdf_ocr_ms_per_page",
        "llama_overhead_ratio",
        "server_answers_per_min",
    ):
        click.echo(f"{key:24s} {result[key]}")
    click.echo(json.dumps({k: v for k, v in result.items() if isinstance(v, dict)}, indent=2))
