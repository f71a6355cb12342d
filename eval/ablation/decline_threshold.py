"""RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/decline_threshold.py DEFAULT.json GREEDY.json

P(first word NOT) for the SQuAD 2.0 sample (100+100), and the outcome at each threshold,
simulated exactly from two real runs (greedy, and NOT barred below 0.5)."""
import json, sys
from rag.assistant import Assistant, load_generator
from rag.benchmarks import DEFAULT_DIR, _collection, index_texts, load_squad2, slug, squad_paragraphs
from rag.embedding import load_embedder
from rag.generation import Decline
from rag.prompting import NOT_FOUND
from rag.settings import Settings
default, greedy = (json.load(open(f)) for f in sys.argv[1:3])
s = Settings.from_env()
emb = load_embedder(s.embed_model, s.embed_batch)
bs = s.with_(home=s.home / "benchmarks", collection=_collection("squad2", emb))
items = load_squad2(DEFAULT_DIR, n_answerable=100, n_unanswerable=100, seed=0)
texts = {f"{slug(pid)}.txt": t for pid, t in squad_paragraphs(DEFAULT_DIR)}
store, _ = index_texts(bs, emb, texts)
g = load_generator(s)
a = Assistant(bs, embedder=emb, generator=g, store=store)
P = {}
for it in items:
    p = a.prepare(it.question)
    if not p.messages:
        P[it.id] = None; continue
    list(g.stream(p.messages, 1, Decline(NOT_FOUND, 0.0)))
    P[it.id] = g.decline_probability
json.dump(P, open("/tmp/exp/squadp.json", "w"))
D = {r["id"]: r for r in default["items"]}; G = {r["id"]: r for r in greedy["items"]}
def good(r): return (not r["abstained"] and r["answer_match"]) if r["answerable"] else r["abstained"]
for t in [0.0, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5]:
    ans = una = 0
    for i, r in G.items():
        pick = D[i] if (P[i] is not None and P[i] < t) else r
        if r["answerable"]: ans += good(pick)
        else: una += good(pick)
    print(f"t={t}: answerable answer_match {ans}/100, unanswerable abstained {una}/100, both {ans+una}/200")
