"""Replay the yes/no check of figures on the replies saved in a seed-eval result, two ways.

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/judge_modes.py eval/results/<run>.json [--window | --shared]

``apart`` is the shipped check (``rag.verify.judge_says``): a new conversation holding only
the cited passage text and the statement. ``follow-up`` asks the same question as one more
turn of the answer's own conversation ("Does passage [2] say this? ..."), so llama.cpp reuses
the answer's prompt, already in its cache, and reads only the new turn. For every sentence
that states a number and cites a passage, the script prints both verdicts and the time each
took (the follow-up timed after its prefix was cached, as it would be right after the
answer), then the agreement and the median times. ``--shared`` (session 11) replaces the
follow-up with a new conversation that starts as the answer's did, with the same passages, and
asks about the statement where the question was: llama.cpp reuses the passages it has read,
the model does not see its own answer. Both sides are then timed right after the answer's
prompt was read, and copies (not judged by the shipped check) are skipped.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from verbatim_figures import figure_sentences

from rag.citations import _window_support, _windows, spell_numbers
from rag.dates import read_dated
from rag.evaluation import load_questions, seed_assistant
from rag.metrics import median
from rag.prompting import load_templates
from rag.settings import PROJECT_ROOT, Settings
from rag.verify import copies_a_cited, judge_says

FOLLOW_UP = "Statement: {claim}\n\nDoes passage {cited} say this? Reply yes or no."
SHARED = "{passages}\n\nStatement: {claim}\n\nDoes passage {cited} say this? Reply yes or no."


def main(path: str) -> None:
    result = json.loads(Path(path).read_text(encoding="utf-8"))
    questions = {q["id"]: q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")}
    settings = Settings.from_env()
    assistant = seed_assistant(settings)
    generator = assistant.generator
    llm = generator._llm  # type: ignore[attr-defined]
    templates = load_templates(settings.prompts)
    rows = []
    for item, p, claim, cited in figure_sentences(assistant, questions, result):
        evidence = "\n".join(read_dated(p.texts[n - 1], p.shown[n - 1].date) for n in cited)
        if "--shared" in sys.argv:  # as right after the answer: its prompt in the cache
            if copies_a_cited(claim, cited, p.texts, p.shown):
                continue  # the shipped check does not judge copies
            llm.create_chat_completion(messages=p.messages, max_tokens=1)
        began = time.perf_counter()
        apart = judge_says(generator, templates.system, templates.judge, evidence, claim)
        apart_ms = (time.perf_counter() - began) * 1000
        turn = [*p.messages, {"role": "assistant", "content": item["reply"]}]
        llm.create_chat_completion(messages=[*turn, {"role": "user", "content": "x"}], max_tokens=1)
        ask = FOLLOW_UP.format(claim=claim, cited=" and ".join(f"[{n}]" for n in cited))
        began = time.perf_counter()
        reply = "".join(generator.stream([*turn, {"role": "user", "content": ask}], 2))
        follow_ms = (time.perf_counter() - began) * 1000
        follow = not reply.strip().lower().startswith("no")
        if "--window" in sys.argv:  # the best supporting sentence (pair) instead
            windows = [w for n in cited for w in _windows(read_dated(p.texts[n - 1], p.shown[n - 1].date))]
            window = max(windows, key=lambda w: _window_support(spell_numbers(claim), spell_numbers(w)))
            llm.create_chat_completion(messages=[p.messages[0], {"role": "user", "content": "x"}], max_tokens=1)
            began = time.perf_counter()
            follow = judge_says(generator, templates.system, templates.judge, window, claim)
            follow_ms = (time.perf_counter() - began) * 1000
        if "--shared" in sys.argv:  # the answer's own passages first, so the cached prefix is reused
            passages = p.messages[-1]["content"].rsplit("\n\nQuestion:", 1)[0]
            ask = SHARED.format(passages=passages, claim=claim, cited=" and ".join(f"[{n}]" for n in cited))
            llm.create_chat_completion(messages=p.messages, max_tokens=1)
            began = time.perf_counter()
            reply = "".join(generator.stream([*p.messages[:-1], {"role": "user", "content": ask}], 2))
            follow_ms = (time.perf_counter() - began) * 1000
            follow = not reply.strip().lower().startswith("no")
        rows.append((item["id"], apart, follow, apart_ms, follow_ms))
        print(f"{item['id']}: apart={'yes' if apart else 'NO'} ({apart_ms:.0f} ms) "
              f"other={'yes' if follow else 'NO'} ({follow_ms:.0f} ms) {claim[:90]!r}", flush=True)
    agree = sum(a == f for _, a, f, _, _ in rows)
    print(f"{len(rows)} sentences; agree {agree}; apart says no {sum(not a for _, a, *_ in rows)}, "
          f"follow-up says no {sum(not f for _, _, f, *_ in rows)}; median ms apart "
          f"{median([r[3] for r in rows]):.0f}, follow-up {median([r[4] for r in rows]):.0f}")


if __name__ == "__main__":
    main(sys.argv[1])
