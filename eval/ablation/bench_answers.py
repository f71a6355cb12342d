"""The answer section of `rag bench` alone (first token, whole answer, overhead ratio), on the
same six seed questions, without the ingestion, retrieval and cold-start sections.

    .venv/bin/python eval/ablation/bench_answers.py
    PYTHONPATH=<a git worktree of another commit> .venv/bin/python eval/ablation/bench_answers.py

The second form times another commit's code on the same machine minutes apart (session 6:
this code against session 5's, to tell a code change from a slower machine). It prints the
JSON object `rag bench --json` holds under "answers", for `rag.bench.ANSWER_QUESTIONS`.
"""
import json

from rag import bench
from rag.settings import Settings

print(json.dumps(bench.bench_answers(Settings.from_env(), bench.ANSWER_QUESTIONS)))
