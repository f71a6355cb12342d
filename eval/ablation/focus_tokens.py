"""Seed set, no generation: user-message tokens (the model's tokenizer) and how many answerable
questions keep a gold answer string in the prompt, under focus variants (session 5).

    RAG_HOME=/tmp/evalhome RAG_COLLECTION=eval-seeds-all-MiniLM-L6-v2 .venv/bin/python \
        eval/ablation/focus_tokens.py '[{"n": 6}, {"n": 5}, {"n": 4}, {"n": 6, "budget": 170}, {"n": 6, "header": "[$n]$dated:\\n$text"}]'

`n`: focus sentences; `budget`: a token budget for focus instead (cl100k); `header`: another
passage template (its `$dated` then gets " <weekday> <date>"). Printed in session 5, before the
date-once change of run T (which shortens every variant now): 261 / 223 / 194 / 230 / 251
tokens p50; gold present 67 / 67 / 64 / 64 / 67 of 75.
"""
import json, sys, statistics
import rag.focus as F
import rag.prompting as P
from rag import Assistant
from rag.settings import Settings
from rag.chunking import count_tokens, sentence_spans, looks_like_instruction

orig_focus = F.focus
def budget_focus(qv, hits, embedder, max_sentences=6, per_passage=3, speaker=False, budget=None, mode="skip"):
    if budget is None:
        return orig_focus(qv, hits, embedder, max_sentences, per_passage, speaker)
    # emulate: run with many sentences, then prune by budget in rank order
    sentences = []
    for i, hit in enumerate(hits):
        sentences.extend((i, s, e) for s, e in sentence_spans(hit.text) if not looks_like_instruction(hit.text[s:e]))
    if not sentences: return []
    vectors = embedder.embed([hits[i].text[s:e] for i, s, e in sentences])
    scores = [sum(a*b for a, b in zip(qv, v)) for v in vectors]
    ranked = sorted(range(len(sentences)), key=lambda j: -scores[j])
    chosen, seen, used = {}, set(), 0
    for j in ranked:
        i, s, e = sentences[j]
        t = hits[i].text[s:e]
        key = " ".join(t.lower().split())
        if key in seen: continue
        cost = count_tokens(t)
        if chosen and used + cost > budget:
            if mode == "stop": break
            continue
        if len(chosen.get(i, [])) < per_passage:
            chosen.setdefault(i, []).append(j); seen.add(key); used += cost
        if sum(len(v) for v in chosen.values()) >= max_sentences: break
    if speaker:
        kept = {j for js in chosen.values() for j in js}
        for j in [j for j in ranked[:F.SPEAKER_SENTENCES] if j in kept]:
            i = sentences[j][0]
            if j > 0 and sentences[j-1][0] == i and j-1 not in chosen[i]:
                chosen[i].append(j-1)
    out = []
    for i, js in chosen.items():
        js = sorted(js); parts, prev = [], None
        for j in js:
            _, s, e = sentences[j]
            if prev is not None and j != prev + 1: parts.append("...")
            parts.append(hits[i].text[s:e]); prev = j
        out.append(F.Focused(hits[i], " ".join(parts), round(max(scores[j] for j in js), 4)))
    return sorted(out, key=lambda f: -f.best)

import rag.assistant as A
variants = json.loads(sys.argv[1])
qs = [json.loads(l) for l in open("eval/questions.jsonl")]
a = Assistant(Settings.from_env())
g = a.generator
orig_fmt = P.format_passage
for v in variants:
    A.focus = lambda qv, hits, emb, max_sentences=6, per_passage=3, speaker=False, v=v: budget_focus(qv, hits, emb, v.get("n", max_sentences), per_passage, speaker, v.get("budget"), v.get("mode", "skip"))
    if v.get("header"):
        tpl = v["header"]
        def fmt(template, n, hit, text=None, same_as=None, tpl=tpl):
            dated = f" {P.describe_date(hit.date)}" if hit.date else ""
            text = P.anchor_weekdays(text if text is not None else hit.text, hit.date)
            return P.render(tpl, n=n, dated=dated, text=text)
        P.format_passage = fmt
    else:
        P.format_passage = orig_fmt
    toks, present, n = [], 0, 0
    for q in qs:
        p = a.prepare(q["question"]) if not q["id"].startswith("x") else None
        if not p.messages: continue
        user = p.messages[-1]["content"]
        toks.append(g.count_tokens(user))
        if q["answerable"] and q.get("answers"):
            n += 1
            present += any(ans.lower() in user.lower() for ans in q["answers"])
    print(json.dumps(v), "user tokens p50", statistics.median(toks), "mean", round(statistics.mean(toks)), "gold present", present, "/", n, flush=True)
