"""The loss waterfall: each question classified by the first stage of the answer path that
loses it (or, unanswerable, by who abstained), and a replayed suite's tables."""

import pytest

from rag.draft import Draft, date_passage
from rag.generation import Likelihood, ScriptedGenerator
from rag.records import Hit
from rag_eval.waterfall import answerable_stage, gold, tally, unanswerable_stage, waterfall_markdown
from tests.conftest import reply_citing_first_passage

RIGHT = "They talked for about 90 minutes in Geneva."
OTHER = "The ministers met in Geneva on Friday."


def hit(text: str) -> Hit:
    return Hit("a.txt", text[:8], 0.9, text, 0, len(text))


def draft(answer: str, abstained: bool = False) -> Draft:
    d = Draft("q", "q", [date_passage(1, hit(RIGHT))], answer=answer, abstained=abstained)
    return d


ANSWER = gold(["90 minutes"])
WIDE = [hit(OTHER), hit(RIGHT)]


@pytest.mark.parametrize(
    ("wide", "top", "gated", "shown", "reply", "trail", "stage"),
    [
        ([hit(OTHER)], [hit(OTHER)], False, [OTHER], OTHER, [], "search"),
        (WIDE, [hit(OTHER)], False, [OTHER], OTHER, [], "top-k"),
        (WIDE, WIDE, True, [], "", [], "gate"),
        (WIDE, WIDE, False, [OTHER], OTHER, [], "focus"),
        (WIDE, WIDE, False, [RIGHT], "NOT FOUND", [], "model"),
        (WIDE, WIDE, False, [RIGHT], OTHER + " [1]", [], "model"),
        (WIDE, WIDE, False, [RIGHT], RIGHT, [("confidence", draft("", True))], "checks: confidence"),
        (  # the confidence check passes a draft on with its answer not yet written
            WIDE, WIDE, False, [RIGHT], RIGHT,
            [("confidence", draft("")), ("support", draft(OTHER))], "checks: support",
        ),
        (
            WIDE, WIDE, False, [RIGHT], RIGHT,
            [("confidence", draft("")), ("support", draft(RIGHT)), ("figures", draft("", True))],
            "checks: figures",
        ),
    ],
)  # fmt: skip
def test_an_answerable_question_is_lost_at_the_first_stage_that_drops_its_answer(
    wide, top, gated, shown, reply, trail, stage
):
    got = answerable_stage(
        ANSWER, wide=wide, top=top, gated=gated, shown=shown, reply=reply, trail=trail, right=False
    )
    assert got == stage


def test_a_right_answer_is_right_whatever_the_earlier_stages_held():
    """The model may give the answer in other words than the gold's."""
    got = answerable_stage(
        ANSWER, wide=[hit(OTHER)], top=[], gated=False, shown=[], reply="", trail=[], right=True
    )
    assert got == "right"


def test_an_unanswerable_question_is_classified_by_who_abstained():
    assert unanswerable_stage(True, "", []) == "gate"
    assert unanswerable_stage(False, "NOT FOUND", []) == "model"
    trail = [("confidence", draft(OTHER)), ("support", draft("", True))]
    assert unanswerable_stage(False, OTHER, trail) == "checks: support"
    assert unanswerable_stage(False, OTHER, trail[:1]) == "answered"


def test_the_tally_keeps_the_order_of_the_answer_path():
    records = [
        {"answerable": True, "stage": "right"},
        {"answerable": True, "stage": "checks: support"},
        {"answerable": True, "stage": "search"},
        {"answerable": False, "stage": "answered"},
        {"answerable": False, "stage": "gate"},
    ]
    counts = tally(records)
    assert list(counts["answerable"]) == ["search", "checks: support", "right"]
    assert list(counts["unanswerable"]) == ["gate", "answered"]
    table = waterfall_markdown({"s": counts})
    assert "| checks: support | 1 (0.33) |" in table and "| all | 2 |" in table


def test_a_suite_run_and_its_replay_say_where_each_question_was_lost(settings, embedder, tmp_path):
    from rag_eval.replay import replay_suite
    from rag_eval.suite import run_suite, suite_markdown

    generator = ScriptedGenerator(
        reply_citing_first_passage, likelihood=Likelihood(decline=0.4, tokens=[0.9])
    )
    quick = settings.with_(min_relevance=0.0, min_confidence=0.0)
    result = run_suite(quick, limit=6, embedder=embedder, generator=generator)
    replayed = replay_suite(result, quick, embedder=embedder, generator=generator)
    for name in ("seeds", "manuals", "pdfs", "squad2"):
        items = replayed["results"][name]["items"]
        counts = replayed["waterfall"][name]
        assert sum(counts["answerable"].values()) == sum(i["answerable"] for i in items)
        assert sum(counts["unanswerable"].values()) == sum(not i["answerable"] for i in items)
        rights = sum(1 for i in items if i["stage"] == "right")
        correct = sum(
            1 for i in items if i["answerable"] and i.get("correct", i.get("answer_match"))
        )
        assert rights == correct  # "right" is exactly the set's own scoring
    assert set(replayed["waterfall"]) == {
        "seeds", "manuals", "pdfs", "squad2", "rgb mixed", "rgb negative",
    }  # fmt: skip
    # The run classifies each question as it answers it, exactly as its replay does.
    assert result["waterfall"] == replayed["waterfall"]
    for name in ("seeds", "manuals", "pdfs", "squad2"):
        stages = [i["stage"] for i in result["results"][name]["items"]]
        assert stages == [i["stage"] for i in replayed["results"][name]["items"]]
    # Under a threshold above every confidence (0.6), the confidence check abstains on all
    # that reach it: no question is answered.
    strict = replay_suite(
        result, quick.with_(min_confidence=0.7), embedder=embedder, generator=generator
    )
    for name, counts in strict["waterfall"].items():
        assert "answered" not in counts["unanswerable"], name
        assert "right" not in counts["answerable"], name
    assert "checks: confidence" in strict["waterfall"]["rgb negative"]["unanswerable"]
    assert "## Where answers are lost" in suite_markdown(strict)
