"""The answer section of `rag bench` alone (first token, whole answer, overhead ratio), on the
same six seed questions, without the ingestion, retrieval and cold-start sections.

    .venv/bin/python eval/ablation/bench_answers.py
    PYTHONPATH=<a git worktree of another commit> .venv/bin/python eval/ablation/bench_answers.py

The second form times another commit's code on the same machine minutes apart (session 6:
this code against session 5's, to tell a code change from a slower machine). It prints the
JSON object `rag bench --json` holds under "answers"; it checks that the questions are still
the ones `rag.bench.run_bench` uses.
"""
import json, inspect
from rag import bench
from rag.settings import Settings
src = inspect.getsource(bench.run_bench)
qs = [
        "How long did the meeting between Blinken and Lavrov in Geneva last?",
        "Who expelled the US deputy chief of mission?",
        "How many troops has Russia assembled near Ukraine's borders?",
        "What did Blinken tell the UN Security Council?",
        "What is the population of Ukraine?",
        "Where did Blinken and Lavrov meet on Friday?",
    ]
assert all(q in src for q in qs)
print(json.dumps(bench.bench_answers(Settings.from_env(), qs)))
