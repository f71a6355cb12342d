"""How many answerable seed questions still have their answer in front of the model, at each
stage before generation: the retrieved chunks, then the focus sentences.

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/focus_ceiling.py

Counts questions whose gold answer (`answer_matches`, as in grading) appears in the text of
the top-k chunks, and in the text `rag.focus.focus` keeps with 4-10 sentences. It also
tries a lexical bonus on the sentence scores (share of the question's stemmed words in the
sentence, times a weight) to see whether focus would keep more answers with it.
No model is loaded.
"""

from __future__ import annotations

from rag.chunking import sentence_spans
from rag.citations import _stems
from rag.evaluation import load_questions, seed_assistant
from rag.focus import focus
from rag.metrics import answer_matches
from rag.settings import PROJECT_ROOT, Settings


def main() -> None:
    assistant = seed_assistant(Settings.from_env())
    embedder = assistant.retriever.embedder
    questions = [
        q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl") if q["answerable"]
    ]
    counts: dict[str, int] = {}

    def count(key: str, text: str, q: dict) -> None:
        counts[key] = counts.get(key, 0) + answer_matches(text, q["answers"], q.get("all_of"))

    for q in questions:
        history = q.get("history") or []
        extra = (f"{history[-1]['question']} {q['question']}",) if history else ()
        topic = " ".join([*extra, q["question"]])
        vector = embedder.embed([topic])[0]
        for k in (4, 6):
            hits = assistant.retriever.search(q["question"], k=k, extra_queries=extra)
            count(f"top {k} chunks", " ".join(h.text for h in hits), q)
            for n in (4, 6, 8, 10):
                kept = focus(vector, hits, embedder, max_sentences=n)
                count(f"top {k} chunks, {n} focus sentences", " ".join(f.text for f in kept), q)
        hits = assistant.retriever.search(q["question"], k=4, extra_queries=extra)
        spans = [(h, s, e) for h in hits for s, e in sentence_spans(h.text)]
        vectors = embedder.embed([h.text[s:e] for h, s, e in spans])
        asked = _stems(topic)
        for weight in (0.0, 0.15, 0.3, 0.5):
            scores = [
                sum(a * b for a, b in zip(vector, v))
                + weight * len(asked & _stems(h.text[s:e])) / max(1, len(asked))
                for (h, s, e), v in zip(spans, vectors)
            ]
            best = sorted(range(len(spans)), key=lambda j: -scores[j])
            per_hit: dict[str, int] = {}
            kept_text = []
            for j in best:
                h, s, e = spans[j]
                if per_hit.get(h.chunk_id, 0) < 3:
                    per_hit[h.chunk_id] = per_hit.get(h.chunk_id, 0) + 1
                    kept_text.append(h.text[s:e])
                if len(kept_text) >= 6:
                    break
            count(f"6 focus sentences, lexical bonus {weight}", " ".join(kept_text), q)
    for key, value in counts.items():
        print(f"{key}: {value} of {len(questions)}")


if __name__ == "__main__":
    main()
