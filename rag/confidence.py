"""How sure the model is of its answer, from its own probabilities.

The prompt lets the model answer or reply NOT FOUND. At its first step the model gives the
declining reply some probability; one minus that is how sure it is that the passages answer
the question, against "not found". That is the answer's ``confidence``. Below
``RAG_MIN_CONFIDENCE`` the assistant abstains; the threshold is set where the curves of
answered-right against unanswerable-abstained, measured on SQuAD 2.0, the manuals set and
the seed set together, put it (docs/ablations.md).
"""

from __future__ import annotations

from .generation import Likelihood


def confidence(likelihood: Likelihood) -> float | None:
    """One minus the probability the model gave declining, or None when unknown.

    >>> confidence(Likelihood(decline=0.25, tokens=[0.9, 0.8]))
    0.75
    >>> confidence(Likelihood()) is None
    True
    """
    if likelihood.decline is None:
        return None
    return round(1.0 - likelihood.decline, 4)


__all__ = ["confidence"]
