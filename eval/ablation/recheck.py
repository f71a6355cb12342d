"""Re-score the model replies saved in a seed-eval result with the current answer checker.

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/recheck.py eval/results/<run>.json [-v]

Each item of a result written by `rag eval` keeps the model's raw `reply`. This script
rebuilds the passages the model was shown (retrieval and focus are deterministic; no model
is loaded: the prompt budget never binds for the seed set), runs `Assistant.review` (the
checker and the note on differing figures) on the saved reply and prints answer accuracy and abstention accuracy. It isolates checker
changes from model changes: same replies, new checker. `-v` lists the questions whose
outcome changed. Runs made before session 8 embedded with PyTorch: replay them with
`RAG_EMBED_BACKEND=torch` so that the passages rebuilt are the ones the model saw.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.evaluation import load_questions, seed_assistant
from rag.metrics import answer_matches
from rag.settings import PROJECT_ROOT, Settings


class _Counter:
    """Stands in for the generator: `prepare` only needs a token count and a context size."""

    name, n_ctx = "recheck", 4096

    def count_tokens(self, text: str) -> int:
        return len(text) // 3


def main(path: str, verbose: bool) -> None:
    result = json.loads(Path(path).read_text(encoding="utf-8"))
    questions = {q["id"]: q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")}
    # No model here, so no yes/no check of figures: this measures the lexical checker alone.
    settings = Settings.from_env().with_(verify_figures=False)
    assistant = seed_assistant(settings, generator=_Counter())
    right = abstained = answerable = unanswerable = 0
    for item in result["items"]:
        q = questions[item["id"]]
        text, abstains = "", True
        if item.get("reply"):
            prepared = assistant.prepare(q["question"], q.get("history") or [])
            text, abstains, _, _ = assistant.review(item["reply"], prepared)
        if q["answerable"]:
            answerable += 1
            ok = not abstains and answer_matches(text, q["answers"], q.get("all_of"))
            right += ok
        else:
            unanswerable += 1
            ok = abstains
            abstained += ok
        if verbose and ok != item["correct"]:
            print(f"{item['id']}: {'now right' if ok else 'now wrong'}: {text[:100]!r}")
    print(
        f"answers accuracy {right}/{answerable} = {right / answerable:.3f}; "
        f"abstention accuracy {abstained}/{unanswerable} = {abstained / unanswerable:.3f}"
    )


if __name__ == "__main__":
    main(sys.argv[1], "-v" in sys.argv[2:])
