"""Seed set: the probability the model gives NOT/NO as its first token, and its reply with
those tokens barred (used to choose RAG_DECLINE_CONFIDENCE; eval/README.md, run N).

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/notfound.py  # writes /tmp/exp/notfound.json
"""
import json, math, sys, time
from rag.evaluation import load_questions, seed_assistant
from rag.settings import PROJECT_ROOT, Settings
settings = Settings.from_env()
a = seed_assistant(settings)
g = a.generator; llm = g._llm
ids = set()
for w in ["NOT", " NOT", "NO", " NO", "Not"]:
    t = llm.tokenize(w.encode(), add_bos=False, special=False)
    ids.add(t[0]); print(w, t, [llm.detokenize([x]) for x in t])
qs = load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")
out = []
for q in qs:
    p = a.prepare(q["question"], q.get("history") or [])
    if not p.messages:
        out.append({"id": q["id"], "gated": True}); continue
    t0 = time.time()
    import numpy as np
    seen = {}
    def grab(input_ids, scores):
        if "p" not in seen:
            x = scores - scores.max(); e = np.exp(x); e /= e.sum(); seen["p"] = e
        return scores
    llm.create_chat_completion(messages=p.messages, max_tokens=1, temperature=0.0, top_k=1, logits_processor=[grab])
    e = seen["p"]; top = np.argsort(-e)[:4]
    dist = {llm.detokenize([int(i)]).decode(errors="replace"): float(e[i]) for i in top}
    p_not = float(sum(e[i] for i in ids))
    forced = "".join(g_ for g_ in (c["choices"][0]["delta"].get("content") or "" for c in llm.create_chat_completion(messages=p.messages, max_tokens=settings.max_tokens, temperature=0.0, top_k=1, stream=True, logit_bias={i: -100.0 for i in ids})))
    out.append({"id": q["id"], "answerable": q["answerable"], "kind": q["kind"], "p_not": round(p_not, 4), "top": sorted(dist.items(), key=lambda x: -x[1])[:4], "forced": forced})
    print(q["id"], q["answerable"], round(p_not, 3), repr(forced[:100]), round(time.time()-t0, 1), flush=True)
json.dump(out, open("/tmp/exp/notfound.json", "w"), indent=1)
