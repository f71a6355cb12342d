"""Choosing RAG_MIN_CONFIDENCE from a suite run's records."""

from rag_eval.calibrate import at_threshold, choose, curves


def squad(answerable: bool, right: bool, conf: float | None) -> dict:
    return {"answerable": answerable, "answer_match": right if answerable else None, "abstained": answerable is False and right, "confidence": conf}


def test_a_threshold_only_turns_answers_into_abstentions():
    records = [(True, True, 0.9), (True, True, 0.6), (True, False, 0.55), (False, False, 0.7), (False, False, 0.58), (False, True, 0.2), (True, True, None)]
    assert at_threshold(records, 0.5) == (3 / 4, 1 / 3)
    assert at_threshold(records, 0.65) == (2 / 4, 2 / 3)  # the 0.6 answer is lost, the 0.58 invention gated
    assert at_threshold(records, 0.95) == (1 / 4, 1.0)  # unknown confidence is never gated


def test_the_threshold_is_chosen_by_balanced_accuracy():
    items = [squad(True, True, 0.9), squad(True, True, 0.8), squad(False, False, 0.62), squad(False, False, 0.7)]
    result = {"results": {"squad2": {"items": items}}}
    curve = curves(result)
    best = choose(curve)
    assert 0.7 < best <= 0.8  # both inventions gated, both right answers kept
    row = next(r for r in curve["squad2"] if r["threshold"] == best)
    assert (row["answered_right"], row["abstained"], row["balanced"]) == (1.0, 1.0, 1.0)


def test_the_threshold_is_chosen_on_every_set_together_lowest_on_a_flat_curve():
    def rows(values):
        return [{"threshold": t, "balanced": b} for t, b in values]

    curve = {
        "a": rows([(0.5, 0.60), (0.6, 0.70), (0.7, 0.70), (0.8, 0.73)]),
        "b": rows([(0.5, 0.60), (0.6, 0.60), (0.7, 0.62), (0.8, 0.61)]),
    }
    assert choose(curve, tolerance=0.0) == 0.8  # the best mean, 0.67
    assert choose(curve, tolerance=0.015) == 0.7  # 0.66 is within 0.015 of it
    assert choose(curve, tolerance=0.025) == 0.6  # so is 0.65, within 0.025
