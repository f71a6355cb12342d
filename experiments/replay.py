"""Check saved model replies again with the current answer path, without generating.

`rag eval` keeps each question's raw reply (the model's words before checking). This script
prepares every question of a result file as the assistant would (retrieval, focus, prompt),
hands the saved reply to the checking stages and writes what comes out: the answer text,
whether it abstained and the cited passages. Run it on two versions of the code with the
same result file and compare the outputs to see exactly which answers a change to the
checking stages moves, at a fraction of the cost of generating again (only the figure
check asks the model, a couple of tokens at a time).

    .venv/bin/python experiments/replay.py eval/results/latest-qwen2.5-coder-1.5b.json out.json
    .venv/bin/python experiments/replay.py --diff before.json after.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def replay(result_file: Path, out: Path) -> None:
    from rag.settings import Settings
    from rag_eval.evaluation import load_questions, seed_assistant

    result = json.loads(result_file.read_text(encoding="utf-8"))
    questions = {q["id"]: q for q in load_questions(result["meta"]["set"])}
    assistant = seed_assistant(Settings.from_env())
    rows = []
    for item in result["items"]:
        q = questions[item["id"]]
        p = assistant.prepare(q["question"], q.get("history") or [])
        if not item.get("reply") or not p.messages:
            continue
        reviewed = assistant.review(item["reply"], p)
        if isinstance(reviewed, tuple):  # (text, abstained, citations, passages)
            text, abstained, citations = reviewed[0], reviewed[1], reviewed[2]
        else:
            text, abstained, citations = reviewed.answer, reviewed.abstained, reviewed.citations
        rows.append(
            {
                "id": item["id"],
                "answer": "" if abstained else text,
                "abstained": abstained,
                "cited": [(c.n, c.source, c.quote) for c in citations],
            }
        )
        print(item["id"], "abstained" if abstained else text[:100], file=sys.stderr)
    out.write_text(json.dumps(rows, indent=1), encoding="utf-8")


def diff(before: Path, after: Path) -> int:
    a = {r["id"]: r for r in json.loads(before.read_text(encoding="utf-8"))}
    b = {r["id"]: r for r in json.loads(after.read_text(encoding="utf-8"))}
    changed = [i for i in a if a[i] != b.get(i)]
    for i in changed:
        print(f"{i}\n  before: {a[i]}\n  after:  {b.get(i)}")
    print(f"{len(a) - len(changed)} of {len(a)} replies checked the same")
    return 1 if changed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--diff", action="store_true", help="compare two outputs of this script")
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args()
    if args.diff:
        sys.exit(diff(args.first, args.second))
    replay(args.first, args.second)
