"""Would asking the model's yes/no judge about the sentences the lexical checker drops keep
right answers without letting invented ones through? (session 11)

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/rescue_judge.py eval/results/<run>.json [-v]

For every saved reply of a seed-eval result the passages are rebuilt (as in ``recheck.py``)
and the shipped checker run. Each sentence it drops is put to the judge
(``rag.verify.judge_says``, the figure check's prompt) with its cited passages, or all the
passages shown when it cites none. A sentence the judge says yes to is "rescued". The script
prints, per question kind, how many outcomes the rescue would change: answerable questions
gained (the rescued text holds a gold answer where the shipped answer did not) and
unanswerable ones lost (an abstention turned into an answer). ``-v`` prints every verdict.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.chunking import sentence_spans
from rag.citations import check, markers, strip_headers, strip_markers, supports
from rag.dates import read_dated
from rag.evaluation import load_questions, seed_assistant
from rag.metrics import answer_matches
from rag.prompting import NOT_FOUND, load_templates
from rag.settings import PROJECT_ROOT, Settings
from rag.verify import judge_says


def main(path: str, verbose: bool) -> None:
    result = json.loads(Path(path).read_text(encoding="utf-8"))
    questions = {q["id"]: q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")}
    settings = Settings.from_env()
    assistant = seed_assistant(settings)
    templates = load_templates(settings.prompts)
    gained, lost, asked, yes = [], [], 0, 0
    for item in result["items"]:
        if not item.get("reply"):
            continue
        q = questions[item["id"]]
        p = assistant.prepare(q["question"], q.get("history") or [])
        checked = check(item["reply"], p.shown, p.topic)
        if not checked.dropped:
            continue
        dated = [read_dated(t, h.date) for t, h in zip(p.texts, p.shown)]
        cited_by: dict[str, list[int]] = {}
        text = strip_headers(item["reply"].replace(NOT_FOUND, ""))
        said = ""
        for s, e in sentence_spans(text):  # "... weapons. [2]": the marker is the previous sentence's
            numbers = [n for n in markers(text[s:e]) if 1 <= n <= len(dated)]
            if strip_markers(text[s:e]).strip(" ."):
                said = strip_markers(text[s:e])
            cited_by[said] = cited_by.get(said, []) + numbers
        rescued = []
        for claim in checked.dropped:
            cited = next((c for said, c in cited_by.items() if claim.lower() in said.lower() or said.lower() in claim.lower()), [])
            if not cited:  # the passage backing it best by the lexical test
                cited = [max(range(1, len(dated) + 1), key=lambda n: supports(claim, dated[n - 1]))]
            evidence = "\n".join(dated[n - 1] for n in cited)
            says = judge_says(assistant.generator, templates.system, templates.judge, evidence, claim)
            asked += 1
            yes += says
            if says:
                rescued.append(claim)
            if verbose:
                print(f"{item['id']} {'yes' if says else 'no '} cites {cited}: {claim[:110]!r}")
        if not rescued:
            continue
        after = " ".join([checked.text, *rescued])
        if q["answerable"]:
            before = not checked.abstained and answer_matches(checked.text, q["answers"], q.get("all_of"))
            if not before and answer_matches(after, q["answers"], q.get("all_of")):
                gained.append(item["id"])
        elif checked.abstained:
            lost.append(item["id"])
    print(f"dropped sentences judged: {asked}, judge said yes to {yes}")
    print(f"answerable gained: {len(gained)} {gained}")
    print(f"unanswerable abstentions lost: {len(lost)} {lost}")


if __name__ == "__main__":
    main(sys.argv[1], "-v" in sys.argv[2:])
