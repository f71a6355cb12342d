"""The first-step distribution for seed questions: P(NOT/NO...) and the three likeliest first
tokens, with llama.cpp's cache as left by the previous call and after a reset (session 5:
q003 "NOT" 0.272 vs "N"(ed) 0.261; q041 "NOT" 0.26 vs next 0.12).

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/first_token.py q003 q041
"""
import json, sys
import numpy as np
from rag.evaluation import load_questions, seed_assistant
from rag.settings import PROJECT_ROOT, Settings
from rag.prompting import NOT_FOUND
a = seed_assistant(Settings.from_env())
g = a.generator; llm = g._llm
barred = g._opening_tokens(NOT_FOUND)
qs = {q["id"]: q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")}
for k in sys.argv[1:]:
    q = qs[k]
    p = a.prepare(q["question"], q.get("history") or [])
    if not p.messages: print(k, "gated"); continue
    for trial in range(2):
        seen = {}
        def grab(ids, scores):
            if "p" not in seen:
                e = np.exp(scores - scores.max()); seen["p"] = e / e.sum()
            return scores
        if trial: llm.reset()
        llm.create_chat_completion(messages=p.messages, max_tokens=1, temperature=0.0, top_k=1, logits_processor=[grab])
        e = seen["p"]; top = np.argsort(-e)[:3]
        print(k, "reset" if trial else "cached", "P(NOT)=%.3f" % e[barred].sum(), [(llm.detokenize([int(t)]).decode(errors="ignore"), round(float(e[t]), 3)) for t in top], flush=True)
