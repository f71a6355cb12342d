"""Would the yes/no check of figures ever reject a sentence copied word for word from its passage?

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/verbatim_figures.py eval/results/<run>.json [...] [--no-judge]

For every sentence of a saved seed-eval reply that the shipped check would judge (it states a
number and cites a passage), the script prints whether the sentence's words, in order, are a
span of a cited passage as the model was shown it (``rag.verify.copied``), and the judge's
verdict (``rag.verify.judge_says``, asked as the assistant asks it). The last line counts the
copies and the judge's "no"s among copies and among the rest.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from rag.chunking import sentence_spans
from rag.citations import check, markers, strip_markers
from rag.dates import read_dated
from rag.evaluation import load_questions, seed_assistant
from rag.metrics import median
from rag.prompting import load_templates
from rag.settings import PROJECT_ROOT, Settings
from rag.verify import copies_a_cited, judge_says


def figure_sentences(assistant, questions, result):  # type: ignore[no-untyped-def]
    """``(item, prepared, claim, cited)`` for each sentence of the saved replies that the
    shipped check of figures would consider: it states a number and cites a passage."""
    for item in result["items"]:
        q = questions[item["id"]]
        if not item.get("reply"):
            continue
        p = assistant.prepare(q["question"], q.get("history") or [])
        checked = check(item["reply"], p.shown, p.topic)
        if checked.abstained:
            continue
        for s, e in sentence_spans(checked.text):
            sentence = checked.text[s:e]
            cited = [n for n in markers(sentence) if 1 <= n <= len(p.texts)]
            claim = strip_markers(sentence).strip()
            if cited and re.search(r"\d", claim):
                yield item, p, claim, cited


def main(paths: list[str]) -> None:
    questions = {q["id"]: q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")}
    settings = Settings.from_env()
    assistant = seed_assistant(settings)
    templates = load_templates(settings.prompts)
    rows = []
    for path in paths:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
        for item, p, claim, cited in figure_sentences(assistant, questions, result):
            copy = copies_a_cited(claim, cited, p.texts, p.shown)
            evidence = "\n".join(read_dated(p.texts[n - 1], p.shown[n - 1].date) for n in cited)
            if "--no-judge" in sys.argv:
                print(f"{item['id']}: copy={'yes' if copy else 'no '} {claim[:90]!r}")
                continue
            began = time.perf_counter()
            yes = judge_says(assistant.generator, templates.system, templates.judge, evidence, claim)
            ms = (time.perf_counter() - began) * 1000
            rows.append((copy, yes, ms))
            print(f"{Path(path).name[:16]} {item['id']}: copy={'yes' if copy else 'no '} "
                  f"judge={'yes' if yes else 'NO '} ({ms:.0f} ms) {claim[:90]!r}", flush=True)
    if not rows:
        return
    copies = [r for r in rows if r[0]]
    rest = [r for r in rows if not r[0]]
    print(f"{len(rows)} sentences judged; {len(copies)} copies (judge no: {sum(not y for _, y, _ in copies)}), "
          f"{len(rest)} others (judge no: {sum(not y for _, y, _ in rest)}); "
          f"median judge ms {median([r[2] for r in rows]):.0f}")


if __name__ == "__main__":
    main([a for a in sys.argv[1:] if not a.startswith("--")])
