"""Did bf16 embedding change what the model was shown, or what it replied? (session 11)

    .venv/bin/python eval/ablation/bf16_prompts.py FP32_HOME BF16_HOME FP32_RESULT.json BF16_RESULT.json

FP32_HOME and BF16_HOME are `RAG_HOME`s whose seed index `rag eval` built with
`RAG_EMBED_PRECISION=fp32` and `bf16` (session 11: /tmp/evalhome and /tmp/bf16home). Every
single-turn seed question is prepared on both (retrieval, focus, prompt; no model loaded) and
the prompts compared; then the replies saved in the two `rag eval` results are compared.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from recheck import _Counter

from rag.bench import answer_questions
from rag.evaluation import load_questions, seed_assistant
from rag.settings import PROJECT_ROOT, Settings


def main(fp32_home: str, bf16_home: str, fp32_result: str, bf16_result: str) -> None:
    questions = load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")
    single = [q["question"] for q in questions if not q.get("history")]
    prompts = {}
    for home, precision in ((fp32_home, "fp32"), (bf16_home, "bf16")):
        settings = Settings.from_env({"RAG_HOME": home}).with_(embed_precision=precision)
        assistant = seed_assistant(settings, generator=_Counter())
        prompts[precision] = [assistant.prepare(q).messages for q in single]
    differ = [q for q, a, b in zip(single, prompts["fp32"], prompts["bf16"]) if a != b]
    sample = set(answer_questions())
    print(f"{len(single)} single-turn prompts; {len(differ)} differ; "
          f"{sum(q in sample for q in differ)} of them in rag bench's sample")
    for q in differ:
        print(f"  {q}")
    replies = [{i["id"]: i.get("reply") for i in json.loads(Path(p).read_text())["items"]}
               for p in (fp32_result, bf16_result)]
    changed = [k for k in replies[0] if replies[0][k] != replies[1].get(k)]
    print(f"replies: {len(replies[0])} compared, {len(changed)} changed {changed}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
