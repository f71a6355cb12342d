"""Whether the model's yes/no judgement of the cited passages (``rag.checks.answers``) adds to
its confidence, read off one replay that asked it every time.

    RAG_MIN_CONFIDENCE=0 RAG_MIN_ANSWERS=0.0001 RAG_VERIFY_FIGURES=0 \\
        rag eval --replay <suite result> --sets manuals --out <dir>/manuals    # and squad2, seeds
    .venv/bin/python experiments/answers_threshold.py <dir>/manuals/latest-replay-<model>.json \\
        <dir>/squad2/latest-replay-<model>.json [<dir>/seeds/latest-replay-<model>.json]

With the confidence threshold at 0 and the judgement's near 0, every answer that passes the
support check is judged and shown, and its item keeps ``confidence`` and
``likelihood.answers``. Raising either threshold only turns answers into abstentions, so the
figures of every pair of thresholds, and of any score combining the two, follow from this one
replay. Questions are split into two halves by a hash of their id. Printed, per set:
answerable answered right / unanswerable abstained, for

* the confidence threshold alone (0.74, the default) and with judgement thresholds;
* (RGB: mixed passages answered right / irrelevant passages refused);
* the area under the curve of each signal, right answers against invented ones;
* a logistic combination of the two (log-odds of each), fitted with its threshold on one half
  of manuals and SQuAD 2.0 together and read on the other half; seeds are only reported.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Score = Callable[[dict[str, Any]], float]
FITTED = ("manuals", "squad2")


def rgb_items(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RGB's mixed passages as answerable questions, its irrelevant ones as unanswerable."""
    return [
        {**r[c], "id": f"{r['id']}-{c}", "answerable": c == "mixed"}
        for r in records
        for c in ("mixed", "negative")
        if c in r
    ]


def half(item_id: str) -> int:
    return int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % 2


def judged(item: dict[str, Any]) -> float | None:
    return (item.get("likelihood") or {}).get("answers")


def right(item: dict[str, Any]) -> bool:
    return bool(item.get("correct", item.get("answer_match")))


def rates(
    items: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]
) -> tuple[float, float]:
    """(answered right, abstained) when an answer is shown only where ``keep`` says so."""
    shown = [i for i in items if not i["abstained"] and keep(i)]
    answerable = [i for i in items if i["answerable"]]
    unanswerable = [i for i in items if not i["answerable"]]
    got = sum(1 for i in shown if i["answerable"] and right(i)) / max(1, len(answerable))
    invented = sum(1 for i in shown if not i["answerable"]) / max(1, len(unanswerable))
    return got, 1 - invented


def thresholds(ct: float, qt: float) -> Callable[[dict[str, Any]], bool]:
    def keep(i: dict[str, Any]) -> bool:
        q = judged(i)
        return (i.get("confidence") or 0.0) >= ct and (q is None or q >= qt)

    return keep


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def features(i: dict[str, Any]) -> tuple[float, float]:
    q = judged(i)
    return logit(i.get("confidence") or 0.5), logit(0.5 if q is None else q)


def fit(items: list[dict[str, Any]], steps: int = 4000) -> Score:
    """Logistic regression of "a right answer" against "an invented one" on the shown
    answers of ``items`` (wrong answers to answerable questions left out: abstaining on them
    changes neither figure)."""
    data = [
        (features(i), 1.0 if i["answerable"] else 0.0)
        for i in items
        if not i["abstained"] and (right(i) or not i["answerable"])
    ]
    w = [0.0, 1.0, 0.0]
    for _ in range(steps):
        grad = [0.0, 0.0, 0.0]
        for (a, b), y in data:
            e = 1 / (1 + math.exp(-(w[0] + w[1] * a + w[2] * b))) - y
            grad = [grad[0] + e, grad[1] + e * a, grad[2] + e * b]
        w = [wi - 0.05 * g / max(1, len(data)) for wi, g in zip(w, grad)]

    def score(i: dict[str, Any]) -> float:
        a, b = features(i)
        return 1 / (1 + math.exp(-(w[0] + w[1] * a + w[2] * b)))

    score.weights = [round(x, 2) for x in w]  # type: ignore[attr-defined]
    return score


def fmt(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.3f} / {pair[1]:.3f}"


def main(paths: list[str]) -> None:
    sets: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        for name, found in json.loads(Path(path).read_text())["results"].items():
            sets[name] = found["items"] if name != "rgb" else rgb_items(found["items"])
    print("| rule | " + " | ".join(sets) + " |\n|---|" + "---|" * len(sets))
    for ct, qt in ((0.74, 0.0), (0.74, 0.3), (0.74, 0.4), (0.74, 0.5), (0.6, 0.5), (0.5, 0.6)):
        cells = [fmt(rates(items, thresholds(ct, qt))) for items in sets.values()]
        print(f"| confidence >= {ct}, judgement >= {qt} | " + " | ".join(cells) + " |")
    for dev in (0, 1):
        print(held_out(sets, dev))
    for name, items in sets.items():
        shown = [i for i in items if not i["abstained"] and judged(i) is not None]
        good = [i for i in shown if i["answerable"] and right(i)]
        bad = [i for i in shown if not i["answerable"]]
        aucs = [area(good, bad, key) for key in (lambda i: i.get("confidence") or 0.0, judged)]
        print(
            f"{name}: area under the curve, {len(good)} right answers against {len(bad)} "
            f"invented: confidence {aucs[0]:.2f}, judgement {aucs[1]:.2f}"
        )


def area(good: list[dict[str, Any]], bad: list[dict[str, Any]], key: Any) -> float:
    """The chance that ``key`` ranks a random right answer above a random invented one."""
    pairs = [(key(g), key(b)) for g in good for b in bad]
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / max(1, len(pairs))


def above(score: Score, t: float) -> Callable[[dict[str, Any]], bool]:
    return lambda i: score(i) >= t


def held_out(sets: dict[str, list[dict[str, Any]]], dev: int) -> str:
    """The combined score fitted, and its threshold chosen, on half ``dev`` of the fitted sets;
    a table row of its figures on the other half (seeds: whole, never fitted)."""
    pool = [i for n in FITTED if n in sets for i in sets[n] if half(i["id"]) == dev]
    score = fit(pool)
    dev_sets = [[i for i in sets[n] if half(i["id"]) == dev] for n in FITTED if n in sets]
    best = max(
        (t / 100 for t in range(5, 96)),
        key=lambda t: sum(sum(rates(items, above(score, t))) for items in dev_sets),
    )
    cells = []
    for n, items in sets.items():
        held = [i for i in items if half(i["id"]) != dev] if n in FITTED else items
        alone = rates(held, thresholds(0.74, 0.0))
        cells.append(f"{fmt(rates(held, above(score, best)))} (0.74 alone: {fmt(alone)})")
    weights = score.weights  # type: ignore[attr-defined]
    return (
        f"| combined, fitted on half {dev} (weights {weights}, threshold {best}), read on the "
        "other half (seeds whole) | " + " | ".join(cells) + " |"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
