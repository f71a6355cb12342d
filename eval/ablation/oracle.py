"""How many answerable seed questions the default model and checker get right when the
sentence holding the gold answer is certain to be in the prompt (session 10).

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/oracle.py [--compare RESULT.json] [--save OUT.json]

Every answerable question of eval/questions.jsonl goes through the assistant as shipped
(retrieval, focus, prompt, model, checker, figure check), except that when none of the
focus passages holds a gold answer (``answer_matches``, as in grading), the first sentence
of the seed chunks that does is put in front as passage [1] (its chunk, so citations map to
the file as usual) in place of the last focus passage. Questions whose gold answer is in no
single sentence (a paraphrase, or ``all_of`` parts in two sentences) are asked as shipped.
This is the ceiling of everything before generation: what is still wrong here is the
model's answer or the checker's verdict on it. Each miss is classed as "model NOT FOUND",
"checker removed" (the reply said something, nothing survived the checks) or "answered
wrong"; removed replies that hold a gold answer (right replies the checker did not keep) are
listed. ``--compare`` lists the questions that differ from an earlier `rag eval` result;
``--save`` writes every item, reply included, as JSON.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rag.assistant
from rag.chunking import sentence_spans
from rag.citations import says_not_found
from rag.embedding import Embedder
from rag.evaluation import load_questions, score_item, seed_assistant
from rag.focus import Focused
from rag.metrics import answer_matches
from rag.records import Answer, Hit
from rag.settings import PROJECT_ROOT, Settings


def main() -> None:
    assistant = seed_assistant(Settings.from_env())
    assistant.warm_up()
    chunks = assistant.retriever.store.all_chunks()
    shipped_focus = rag.assistant.focus
    question: dict[str, Any] = {}
    added: dict[str, bool | None] = {}  # None: no single sentence holds a gold answer

    def holds_gold(text: str) -> bool:
        return answer_matches(text, question.get("answers") or [], question.get("all_of"))

    def oracle_focus(
        vector: Sequence[float], hits: Sequence[Hit], embedder: Embedder, **kw: Any
    ) -> list[Focused]:
        focused = shipped_focus(vector, hits, embedder, **kw)
        if any(holds_gold(f.text) for f in focused):
            added[question["id"]] = False
            return focused
        gold = next(
            (
                (cid, text[s:e])
                for cid, text, _ in chunks
                for s, e in sentence_spans(text)
                if holds_gold(text[s:e])
            ),
            None,
        )
        if gold is None:
            added[question["id"]] = None
            return focused
        cid, sentence = gold
        hit = next((h for h in hits if h.chunk_id == cid), None)
        if hit is None:
            hit = assistant.retriever._lexical_index().hit(cid, list(vector))
        added[question["id"]] = True
        rest = [f for f in focused if f.hit.chunk_id != cid][: max(0, len(focused) - 1)]
        return [Focused(hit, sentence, 1.0), *rest]

    rag.assistant.focus = oracle_focus  # type: ignore[assignment]
    questions = [
        q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl") if q["answerable"]
    ]
    items = []
    for q in questions:
        question.clear()
        question.update(q)
        pieces = list(assistant.stream(q["question"], history=q.get("history") or []))
        answer = pieces[-1]
        assert isinstance(answer, Answer)
        item = score_item(q, answer, [])
        item["reply"] = "".join(p for p in pieces[:-1] if isinstance(p, str)) if answer.model else ""
        item["gold_added"] = added.get(q["id"])
        items.append(item)
        print(q["id"], "right" if item["correct"] else why(item), "|", answer.answer[:100], flush=True)
    right = sum(i["correct"] for i in items)
    placed = Counter(
        {True: "added", False: "already in focus", None: "in no single sentence"}[i["gold_added"]]
        for i in items
    )
    print(f"answerable: {right} of {len(items)} right ({right / len(items):.3f}); gold sentence {dict(placed)}")
    print("misses:", dict(Counter(why(i) for i in items if not i["correct"])))
    by_id = {q["id"]: q for q in questions}
    held = [
        i["id"]
        for i in items
        if why(i) == "checker removed"
        and answer_matches(i["reply"], by_id[i["id"]]["answers"], by_id[i["id"]].get("all_of"))
    ]
    print(f"checker removed a reply holding a gold answer: {len(held)} ({', '.join(held)})")
    if "--save" in sys.argv:
        out = Path(sys.argv[sys.argv.index("--save") + 1])
        out.write_text(json.dumps(items, indent=1), encoding="utf-8")
    if "--compare" in sys.argv:
        path = Path(sys.argv[sys.argv.index("--compare") + 1])
        earlier = json.loads(path.read_text(encoding="utf-8"))
        before = {i["id"]: i["correct"] for i in earlier["items"]}
        for i in items:
            if before.get(i["id"]) != i["correct"]:
                print(f"  {i['id']}: {before.get(i['id'])} -> {i['correct']} (gold added: {i['gold_added']})")


def why(item: dict[str, Any]) -> str:
    if item["correct"]:
        return "right"
    if not item["abstained"]:
        return "answered wrong"
    return "model NOT FOUND" if says_not_found(item["reply"]) or not item["reply"] else "checker removed"


if __name__ == "__main__":
    main()
