"""How much weight a follow-up's own words should get in retrieval, beside the previous
question plus the follow-up (``rag.followup.FOLLOWUP_WEIGHT``).

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/followup_weight.py

For each of the eight seed follow-ups (q094-q101, pronouns resolved by ``rag.followup``),
fuses the dense and BM25 searches for "previous question + follow-up" at weight 1 with those
for the follow-up alone at weight w, as ``Retriever.search`` does, and prints whether a
chunk holding the answer (a phrase of it, below) is among the 4 fused hits. No model.
"""

from __future__ import annotations

from rag.evaluation import load_questions, seed_assistant
from rag.followup import resolve
from rag.metrics import rrf_fuse
from rag.retrieval import CANDIDATES
from rag.settings import PROJECT_ROOT, Settings

NEEDED = {  # a phrase of the chunk that answers each follow-up (q101: the person asked about)
    "q094": "lasted around 90", "q095": "unprovoked", "q096": "prevent one",
    "q097": "supposed to finish", "q098": "high price", "q099": "single day",
    "q100": "travel to Kyiv on Wednesday", "q101": "Kuleba",
}  # fmt: skip


class _Counter:
    name, n_ctx = "none", 4096

    def count_tokens(self, text: str) -> int:
        return len(text) // 3


def main() -> None:
    assistant = seed_assistant(Settings.from_env().with_(verify_figures=False), generator=_Counter())
    retriever = assistant.retriever
    lexical = retriever._lexical_index()
    questions = load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")
    followups = [q for q in questions if q.get("history")]

    def searches(query: str) -> list[list[str]]:
        vector = retriever.embedder.embed([query])[0]
        dense = [h.chunk_id for h in retriever.store.query(vector, CANDIDATES)]
        return [dense, lexical.search(query, CANDIDATES)]

    for weight in (0.0, 0.25, 0.5, 1.0):
        found = []
        for q in followups:
            asked = resolve(q["question"], q["history"][-1]["answer"])
            both = f"{q['history'][-1]['question']} {asked}"
            fused = rrf_fuse([*searches(both), *searches(asked)], weights=[1, 1, weight, weight])
            top = [cid for cid, _ in fused][:4]
            hit = any(NEEDED[q["id"]] in lexical._rows[cid][0] for cid in top)
            found.append(f"{q['id']}:{'yes' if hit else 'no'}")
        print(f"weight {weight}: {sum(f.endswith('yes') for f in found)} of {len(found)}  {' '.join(found)}")


if __name__ == "__main__":
    main()
