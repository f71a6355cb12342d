"""Replay run M with the replies of notfound.py substituted wherever P(NOT) < t, re-scored
with the lexical checker (eval/README.md, run N).

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/decline_replay.py
"""
import json, sys
sys.path.insert(0, "eval/ablation")
from recheck import _Counter
from rag.evaluation import load_questions, seed_assistant
from rag.metrics import answer_matches
from rag.settings import PROJECT_ROOT, Settings
run = json.load(open("eval/results/20261124T031858Z-qwen2.5-coder-1.5b.json"))
nf = {x["id"]: x for x in json.load(open("/tmp/exp/notfound.json"))}
qs = {q["id"]: q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")}
a = seed_assistant(Settings.from_env().with_(verify_figures=False), generator=_Counter())
prep = {}
def score(reply, q):
    if q["id"] not in prep: prep[q["id"]] = a.prepare(q["question"], q.get("history") or [])
    text, abst, _, _ = a.review(reply, prep[q["id"]])
    ok = (not abst and answer_matches(text, q["answers"], q.get("all_of"))) if q["answerable"] else abst
    return ok, text
for t in [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01]:
    right = abst = 0; changed = []
    for it in run["items"]:
        q = qs[it["id"]]; reply = it.get("reply") or ""
        x = nf[it["id"]]
        if reply and not x.get("gated") and reply.strip().startswith("NOT") and x["p_not"] < t:
            reply = x["forced"]
        ok, text = score(reply, q) if reply else (not q["answerable"], "")
        if q["answerable"]: right += ok
        else: abst += ok
        if t == 0.5 and reply != (it.get("reply") or ""): changed.append((it["id"], q["answerable"], ok, x["p_not"], text[:90]))
    print(f"t={t}: answers {right}/78 = {right/78:.3f}; abstention {abst}/23 = {abst/23:.3f}")
    for c in changed: print("   ", c)
print(sorted((x["p_not"], x["id"], x["answerable"]) for x in nf.values() if not x.get("gated")))
