"""How many answerable seed questions still have their answer in front of the model, at each
stage before generation: the retrieved chunks, then the focus sentences.

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/focus_ceiling.py

Counts questions whose gold answer (`answer_matches`, as in grading) appears in the text of
the top-k chunks, and in the text `rag.focus.focus` keeps with 4-10 sentences. It also
tries a lexical bonus on the sentence scores (share of the question's stemmed words in the
sentence, times a weight), through ``focus`` itself, to see whether focus would keep more
answers with it.
No model is loaded.
"""

from __future__ import annotations

from rag.citations import _stems
from rag.embedding import Embedder
from rag.evaluation import load_questions, seed_assistant
from rag.focus import focus
from rag.metrics import answer_matches
from rag.settings import PROJECT_ROOT, Settings


class _WithStems:
    """The real embedder with one 0/1 dimension per stem of the question appended, so that
    ``focus``'s own dot product scores a sentence as cosine + weight * (share of the
    question's stems it holds) when the question vector carries weight / n in those places."""

    def __init__(self, embedder: Embedder, stems: list[str]) -> None:
        self.embedder, self.stems = embedder, stems

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors = self.embedder.embed(texts)
        return [
            v + [float(s in have) for s in self.stems]
            for v, have in zip(vectors, (_stems(t) for t in texts))
        ]


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
        stems = sorted(_stems(topic))
        with_stems = _WithStems(embedder, stems)
        for weight in (0.0, 0.15, 0.3, 0.5):
            boosted = vector + [weight / max(1, len(stems))] * len(stems)
            kept = focus(boosted, hits, with_stems, max_sentences=6)
            count(f"6 focus sentences, lexical bonus {weight}", " ".join(f.text for f in kept), q)
    for key, value in counts.items():
        print(f"{key}: {value} of {len(questions)}")


if __name__ == "__main__":
    main()
