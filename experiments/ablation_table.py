"""One Markdown table from several suite or replay results: a row per run, the headline
figures of every set side by side (the tables of docs/ablations.md).

    .venv/bin/python experiments/ablation_table.py "all checks" eval/results/A.json "support off" B.json ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = [
    ("seeds", "answered_right"), ("seeds", "abstained"),
    ("manuals", "answered_right"), ("manuals", "abstained"),
    ("squad2", "answered_right"), ("squad2", "cited_span_covers"), ("squad2", "abstained"),
    ("rgb", "fake_repeated"), ("rgb", "refused_irrelevant"),
]  # fmt: skip


def main(args: list[str]) -> None:
    pairs = list(zip(args[::2], args[1::2]))
    head = ["run"] + [f"{s} {f.replace('_', ' ')}" for s, f in COLUMNS]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for label, path in pairs:
        sets = json.loads(Path(path).read_text(encoding="utf-8"))["sets"]
        cells = [f"{sets[s][f]:.3f}" if s in sets and f in sets[s] else "-" for s, f in COLUMNS]
        print("| " + " | ".join([label, *cells]) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
