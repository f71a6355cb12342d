"""The yes/no check of figures asked of the 0.5B model instead of the 1.5B one: same
verdicts, and how much faster? (session 11)

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/small_judge.py eval/results/<run>.json [...]

For every sentence of the saved replies that the shipped check would judge (it states a
number, cites a passage and is not a copy of it), both models are asked with the shipped
prompt (``rag.verify.judge_says``) and timed; the 0.5B model runs under its own llama.cpp
instance with the project's settings (``rag.assistant.load_generator``). Prints each pair of
verdicts, the agreement and the median times.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from verbatim_figures import figure_sentences

from rag.assistant import load_generator
from rag.dates import read_dated
from rag.evaluation import load_questions, seed_assistant
from rag.metrics import median
from rag.prompting import load_templates
from rag.settings import PROJECT_ROOT, Settings
from rag.verify import copies_a_cited, judge_says


def main(paths: list[str]) -> None:
    questions = {q["id"]: q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")}
    settings = Settings.from_env()
    assistant = seed_assistant(settings)
    small = load_generator(settings.with_(model="qwen2.5-coder-0.5b"))
    templates = load_templates(settings.prompts)
    rows = []
    for path in paths:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
        for item, p, claim, cited in figure_sentences(assistant, questions, result):
            if copies_a_cited(claim, cited, p.texts, p.shown):
                continue
            evidence = "\n".join(read_dated(p.texts[n - 1], p.shown[n - 1].date) for n in cited)
            verdicts, times = [], []
            for generator in (assistant.generator, small):
                began = time.perf_counter()
                verdicts.append(judge_says(generator, templates.system, templates.judge, evidence, claim))
                times.append((time.perf_counter() - began) * 1000)
            rows.append((verdicts, times))
            big, little = ("yes" if v else "NO" for v in verdicts)
            print(f"{item['id']}: 1.5B {big} ({times[0]:.0f} ms) 0.5B {little} ({times[1]:.0f} ms) {claim[:90]!r}", flush=True)
    agree = sum(v[0] == v[1] for v, _ in rows)
    print(f"{len(rows)} sentences; agree {agree}; 1.5B says no {sum(not v[0] for v, _ in rows)}, "
          f"0.5B says no {sum(not v[1] for v, _ in rows)}; median ms 1.5B "
          f"{median([t[0] for _, t in rows]):.0f}, 0.5B {median([t[1] for _, t in rows]):.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
