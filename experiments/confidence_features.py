"""Which of the model's probabilities best separates answers worth giving from the rest?

Reads a `rag eval --suite` result (every record keeps the model's probabilities: `decline`,
the probability of opening with NOT FOUND, and `tokens`, the probability of each token it
wrote), scores each record under several candidate confidence formulas, picks each
formula's threshold on SQuAD 2.0 by balanced accuracy (as `rag eval --calibrate` does) and
prints what that threshold gives on every set.

    .venv/bin/python experiments/confidence_features.py eval/results/latest-suite-qwen2.5-coder-1.5b.json
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag_eval.calibrate import at_threshold, outcomes

Formula = Callable[[dict[str, Any]], float | None]


def _tokens(lk: dict[str, Any], n: int | None = None) -> list[float]:
    return [max(p, 1e-6) for p in (lk.get("tokens") or [])[:n]]


FORMULAS: dict[str, Formula] = {
    "1 - decline": lambda lk: None if lk.get("decline") is None else 1 - lk["decline"],
    "mean token prob (first 10)": lambda lk: (
        (sum(t := _tokens(lk, 10)) / len(t)) if _tokens(lk, 10) else None
    ),
    "geometric mean token prob": lambda lk: (
        math.exp(sum(map(math.log, t)) / len(t)) if (t := _tokens(lk)) else None
    ),
    "min token prob (first 10)": lambda lk: min(_tokens(lk, 10)) if _tokens(lk, 10) else None,
    "(1 - decline) x geo. mean (first 10)": lambda lk: (
        None
        if lk.get("decline") is None or not _tokens(lk, 10)
        else (1 - lk["decline"])
        * math.exp(sum(map(math.log, _tokens(lk, 10))) / len(_tokens(lk, 10)))
    ),
}


def records(
    result: dict[str, Any], formula: Formula
) -> dict[str, list[tuple[bool, bool, float | None]]]:
    out = {}
    for name, res in result["results"].items():
        rows = outcomes(name, res)
        likelihoods = []
        if name == "rgb":
            for r in res["items"]:
                likelihoods += [
                    r[c].get("likelihood") or {} for c in ("mixed", "negative") if c in r
                ]
        else:
            likelihoods = [r.get("likelihood") or {} for r in res["items"]]
        out[name] = [
            (a, g, formula(lk) if lk else None) for (a, g, _), lk in zip(rows, likelihoods)
        ]
    return out


def main(path: str) -> None:
    result = json.loads(Path(path).read_text(encoding="utf-8"))
    thresholds = sorted({round(0.01 * i, 2) for i in range(1, 100)})
    for label, formula in FORMULAS.items():
        sets = records(result, formula)
        squad = sets["squad2"]
        best = max(thresholds, key=lambda t: (sum(at_threshold(squad, t)), -t))
        cells = []
        for name, rows in sets.items():
            a, b = at_threshold(rows, best)
            cells.append(f"{name} {a:.3f}/{b:.3f}")
        base = "; ".join(
            f"{n} {a:.3f}/{b:.3f}"
            for n, (a, b) in ((n, at_threshold(r, 0.0)) for n, r in sets.items())
        )
        print(f"{label:40s} t={best:.2f}: " + "; ".join(cells))
    print(f"{'no threshold':40s}        {base}")
    print("(each cell: answerable answered right / unanswerable abstained)")


if __name__ == "__main__":
    main(sys.argv[1])
