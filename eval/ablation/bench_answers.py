"""The answer section of `rag bench` alone (first token, whole answer, overhead ratios), on
the same seed questions, without the ingestion, retrieval and cold-start sections.

    .venv/bin/python eval/ablation/bench_answers.py [--six]
    PYTHONPATH=<a git worktree of another commit> .venv/bin/python eval/ablation/bench_answers.py

The second form times another commit's code on the same machine minutes apart (session 6:
this code against session 5's, to tell a code change from a slower machine). It prints the
JSON object `rag bench --json` holds under "answers", for `rag.bench.answer_questions()`;
with ``--six``, for the six hand-picked questions the bench timed until session 10.
"""

import json
import sys

from rag import bench
from rag.settings import Settings

SIX = [  # the answer section's questions in sessions 1-10
    "How long did the meeting between Blinken and Lavrov in Geneva last?",
    "Who expelled the US deputy chief of mission?",
    "How many troops has Russia assembled near Ukraine's borders?",
    "What did Blinken tell the UN Security Council?",
    "What is the population of Ukraine?",
    "Where did Blinken and Lavrov meet on Friday?",
]

questions = SIX if "--six" in sys.argv else bench.answer_questions()
print(json.dumps(bench.bench_answers(Settings.from_env(), questions)))
