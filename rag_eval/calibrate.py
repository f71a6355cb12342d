"""Where to set ``RAG_MIN_CONFIDENCE``: the answered / abstained curves of a suite run.

Abstaining below a confidence threshold ``t`` only turns answers into abstentions, so its
effect on a suite run's kept records is exact without running anything again: an
answerable question stays answered right only if its confidence is at least ``t``; an
unanswerable one is abstained on if it was, or if its confidence is below ``t``.

The threshold is chosen on every set of the run together: by balanced accuracy (the mean of
answered-right and abstained) averaged over the sets, and, where that curve is flat, the
lowest threshold within ``TOLERANCE`` of its best, since each step up trades answers for
abstentions that the sets cannot tell apart from noise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

THRESHOLDS = [round(0.5 + 0.01 * i, 2) for i in range(50)]
TOLERANCE = 0.01  # of mean balanced accuracy: about one question in a hundred


def outcomes(name: str, result: dict[str, Any]) -> list[tuple[bool, bool, float | None]]:
    """``(answerable, right or abstained as it should, confidence)`` per record of a set."""
    out: list[tuple[bool, bool, float | None]] = []
    if name == "rgb":
        for r in result["items"]:
            if "mixed" in r:  # answerable: the true answer, not the planted fake
                m = r["mixed"]
                out.append((True, bool(m["correct"] and not m["fake"]), m.get("confidence")))
            if "negative" in r:
                n = r["negative"]
                out.append((False, bool(n["abstained"]), n.get("confidence")))
        return out
    for r in result["items"]:
        right = r["answer_match"] if name == "squad2" else r["correct"]
        out.append(
            (
                bool(r["answerable"]),
                bool(r["abstained"] if not r["answerable"] else right),
                r.get("confidence"),
            )
        )
    return out


def at_threshold(
    records: Iterable[tuple[bool, bool, float | None]], t: float
) -> tuple[float, float]:
    """``(answered right, abstained)`` shares when answers below confidence ``t`` abstain."""
    answered, abstained = [], []
    for answerable, good, conf in records:
        gated = conf is not None and conf < t
        if answerable:
            answered.append(good and not gated)
        else:
            abstained.append(good or gated)
    share = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
    return share(answered), share(abstained)


def curves(
    result: dict[str, Any], thresholds: Sequence[float] = THRESHOLDS
) -> dict[str, list[dict[str, float]]]:
    """Per set, per threshold: answered right, abstained and their mean (balanced). The
    ``whole`` set has no right answers or unanswerable requests to weigh, so no curve."""
    out: dict[str, list[dict[str, float]]] = {}
    for name, res in result["results"].items():
        if name == "whole":
            continue
        records = outcomes(name, res)
        rows = []
        for t in thresholds:
            a, b = at_threshold(records, t)
            rows.append(
                {
                    "threshold": t,
                    "answered_right": round(a, 3),
                    "abstained": round(b, 3),
                    "balanced": round((a + b) / 2, 3),
                }
            )
        out[name] = rows
    return out


def choose(curve: dict[str, list[dict[str, float]]], tolerance: float = TOLERANCE) -> float:
    """The lowest threshold whose balanced accuracy, averaged over the sets, is within
    ``tolerance`` of the best such average."""
    sets = list(curve.values())
    mean = [
        (rows[0]["threshold"], sum(r["balanced"] for r in rows) / len(rows))
        for rows in zip(*sets)
    ]
    best = max(m for _, m in mean)
    return min(t for t, m in mean if m >= best - tolerance)


def plot(curve: dict[str, list[dict[str, float]]], chosen: float, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, rows in curve.items():
        xs = [r["threshold"] for r in rows]
        line = ax.plot(xs, [r["answered_right"] for r in rows], label=f"{name}: answered right")[0]
        ax.plot(
            xs,
            [r["abstained"] for r in rows],
            linestyle="--",
            color=line.get_color(),
            label=f"{name}: abstained",
        )
    ax.axvline(chosen, color="grey", linewidth=1)
    ax.set_xlabel("RAG_MIN_CONFIDENCE")
    ax.set_ylabel("share")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["at_threshold", "choose", "curves", "outcomes"]
