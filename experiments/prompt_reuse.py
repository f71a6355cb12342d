"""What the ways of reusing llama.cpp's hold on the previous prompt cost and buy, in one run:
"turns" (the product: prompts read in whole messages, only whole messages kept), "any"
(llama.cpp's own: whatever start it still holds is kept, the rest read in one batch) and
"none" (every prompt read whole), set through ``LlamaCppGenerator.prompt_reuse``.

    .venv/bin/python experiments/prompt_reuse.py [--questions N] [--rounds R]

The ways alternate in blocks so that a machine that slows down part-way affects all alike;
each block asks the same N questions from eval/questions.jsonl in order, then in reverse
order. Reported: the median seconds per answer of each way and its ratio to llama.cpp's own,
and how many questions got the same confidence and answer in both orders (where the previous
question changes what is reused, they may not). Needs an index of the seed articles in
RAG_HOME (``rag ingest``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from rag.assistant import Assistant
from rag.settings import PROJECT_ROOT, Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    lines = (PROJECT_ROOT / "eval" / "questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines][: args.questions]
    assistant = Assistant(Settings.from_env())
    generator = assistant.generator
    ways = ("turns", "any", "none")
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    stable: dict[str, int] = {way: 0 for way in ways}
    for _ in range(args.rounds):
        for way in ways:
            generator.prompt_reuse = way  # type: ignore[attr-defined]
            seen: dict[str, list[tuple[object, str]]] = {}
            for q in questions + questions[::-1]:
                began = time.perf_counter()
                answer = assistant.ask(q)
                seconds[way].append(time.perf_counter() - began)
                seen.setdefault(q, []).append((answer.confidence, answer.answer))
            stable[way] += sum(a == b for a, b in seen.values())
    asked = args.rounds * len(questions)
    base = statistics.median(seconds["any"])
    for way in ways:
        median = statistics.median(seconds[way])
        print(
            f"{way:6s} median {median:.2f} s/answer ({median / base:.2f}x llama.cpp's own "
            f"reuse); same confidence and answer in both orders {stable[way]}/{asked}"
        )


if __name__ == "__main__":
    main()
