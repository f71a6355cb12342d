"""How often the sentences focus shows the model still hold the answer, and at what cost.

    RAG_HOME=/tmp/focus-home .venv/bin/python experiments/focus_shown.py [--sets seeds,manuals,squad2]

For every answerable question of each set (SQuAD 2.0: ``--per-article`` answerable questions
of each of its 16 articles), the top-k passages are retrieved as ``Assistant.prepare``
retrieves them, and cut down by ``rag.focus.focus`` under each variant below. Printed per set
and variant: of the questions whose top-k passages hold a gold answer, how many still hold
it after focus ("shown"), and the median and mean number of tokens (the model's tokenizer)
of the focused text. No generation: the model is loaded only to count tokens.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from typing import Any

from rag.assistant import Assistant, clean_question, normalize_history
from rag.embedding import embedder_for
from rag.focus import asks_who, focus
from rag.followup import plan
from rag.settings import Settings
from rag_eval.benchmarks import _load_generator, index_texts
from rag_eval.datasets import load_squad2, squad_articles
from rag_eval.evaluation import load_questions, seed_assistant
from rag_eval.suite import QUESTION_SETS, _bench, _per_article
from rag_eval.waterfall import gold

# name: (max_sentences, per_passage, follow)
VARIANTS: dict[str, tuple[int, int, int]] = {
    "5 sentences": (5, 3, 0),
    "6 sentences": (6, 3, 0),
    "7 sentences": (7, 3, 0),
    "8 sentences": (8, 4, 0),
    "5 + the sentence after the best": (5, 3, 1),
    "5 + the sentence after the best 2": (5, 3, 2),
    "5 + the sentence after the best 3": (5, 3, 3),
    "4 + the sentence after the best 2": (4, 3, 2),
    "6 + the sentence after the best 2": (6, 3, 2),
}


def questions(name: str, settings: Settings, embedder: Any, per_article: int) -> Iterator[Any]:
    """(assistant, question, history, whether a text gives the answer) of every answerable question of a set."""
    if name == "squad2":
        bench = _bench(settings, "squad2-articles", embedder)
        articles = squad_articles()
        texts = {f"{title}.txt": text for title, (text, _) in articles.items()}
        store, _ = index_texts(bench, embedder, texts)
        assistant = Assistant(bench, embedder=embedder, store=store)
        for item in _per_article(load_squad2(n_answerable=None, n_unanswerable=None), per_article):
            if item.answerable:
                yield assistant, item.question, [], gold(item.answers)
        return
    set_file, docs = QUESTION_SETS[name]
    assistant = seed_assistant(settings, embedder=embedder, seeds=docs, name=name)
    for q in load_questions(set_file):
        if q.get("answerable", True) and q.get("answers"):
            yield assistant, q["question"], q.get("history") or [], gold(q["answers"], q.get("all_of"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="seeds,manuals,squad2")
    parser.add_argument("--per-article", type=int, default=10)
    args = parser.parse_args()
    settings = Settings.from_env()
    embedder = embedder_for(settings)
    count = _load_generator(settings).count_tokens
    for name in args.sets.split(","):
        shown: dict[str, int] = dict.fromkeys(VARIANTS, 0)
        tokens: dict[str, list[int]] = {v: [] for v in VARIANTS}
        asked = in_top = 0
        for assistant, question, history, contains in questions(
            name, settings, embedder, args.per_article
        ):
            asked += 1
            turns = normalize_history(history)[-settings.history_turns :] if history else []
            searched = plan(clean_question(question, settings.max_question_chars), turns)
            hits = assistant.prepare(question, history).hits
            if not any(contains(h.text) for h in hits):
                continue
            in_top += 1
            vector = embedder.embed([searched.topic])[0]
            for variant, (most, per, follow) in VARIANTS.items():
                kept = focus(
                    vector, hits, embedder, max_sentences=most, per_passage=per,
                    speaker=asks_who(searched.asked), follow=follow,
                )  # fmt: skip
                shown[variant] += any(contains(f.text) for f in kept)
                tokens[variant].append(sum(count(f.text) for f in kept))
        print(f"\n{name}: {asked} answerable, gold in the top-{settings.top_k} passages: {in_top}")
        print("| variant | shown | tokens p50 | tokens mean |\n|---|---|---|---|")
        for variant in VARIANTS:
            t = tokens[variant] or [0]
            print(
                f"| {variant} | {shown[variant]} ({shown[variant] / max(in_top, 1):.3f}) "
                f"| {statistics.median(t):.0f} | {statistics.mean(t):.0f} |"
            )


if __name__ == "__main__":
    main()
