"""Could focus drop sentences far below the best one (a relative floor) to shorten prompts?

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/focus_floor.py

For every answerable seed question, takes the sentences focus shows the model (5 by
default), their cosine to the question, and which of them hold a gold answer string; then,
for floors delta = 0.05 ... 0.25 below the best sentence's cosine, prints how many
sentences would remain on average and for which questions every gold-holding sentence would
be cut. No model is loaded. (Session 6: even at 0.25 five gold sentences are lost, so no
floor was tried in an eval run.)
"""
import json, statistics
import rag.focus as F
from rag.evaluation import load_questions, seed_assistant
from rag.settings import PROJECT_ROOT, Settings
from rag.metrics import normalize_answer
qs = load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")
a = seed_assistant(Settings.from_env())
emb = a.retriever.embedder
rows = []
for q in qs:
    if not q["answerable"]:
        continue
    hist = q.get("history") or []
    p = a.prepare(q["question"], hist)
    if not p.messages: continue
    # re-run focus to get per-sentence scores
    topic = p.topic
    qv = emb.embed([topic])[0]
    hits = a.retriever.search(q["question"], k=a.settings.top_k, extra_queries=(f"{hist[-1]['question']} {q['question']}",) if hist else ())
    sents = []
    for i, h in enumerate(hits):
        for s, e in F.sentence_spans(h.text):
            sents.append(h.text[s:e])
    vecs = F.SENTENCE_VECTORS.embed(emb, sents)
    sc = {t: sum(x*y for x, y in zip(qv, v)) for t, v in zip(sents, vecs)}
    shown = " ".join(p.texts)
    chosen = [t for t in sents if t in shown]
    chosen = sorted(set(chosen), key=lambda t: -sc[t])
    golds = [normalize_answer(g) for g in q["answers"]]
    gold_idx = [k for k, t in enumerate(chosen) if any(g and g in normalize_answer(t) for g in golds)]
    if not chosen: continue
    best = sc[chosen[0]]
    rows.append((q["id"], [round(best - sc[t], 3) for t in chosen], gold_idx))
for d in (0.05, 0.1, 0.15, 0.2, 0.25):
    lost = [r[0] for r in rows if r[2] and all(r[1][k] > d for k in r[2])]
    kept = [sum(1 for x in r[1] if x <= d) for r in rows]
    print(f"delta {d}: mean sentences {statistics.mean(kept):.2f} (of {statistics.mean(len(r[1]) for r in rows):.2f}), gold lost {len(lost)} {lost}")
print("with gold:", sum(1 for r in rows if r[2]), "of", len(rows))
