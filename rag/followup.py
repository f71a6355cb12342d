"""Follow-up questions made to stand on their own: "What did he say?" after an answer
naming Dmitry Peskov is searched, and put to the model, as "What did Peskov say?".

Follow-ups lean on the conversation ("he", "that move", "those exercises"). Searched alone
they find passages about anything; a small model shown them answers with whoever the
passages quote. Two steps, no model call:

- ``resolve``: "he"/"she" (and "him", "his", "her") become the person the previous answer
  names most fully: the last word of its longest run of capitalised words ("US Secretary of
  State Antony Blinken" -> "Blinken"). Nothing changes when the answer names no one.
- ``refers_back``: a question with a pronoun or demonstrative ("it", "that", "those", ...)
  is searched together with the previous question as its main query; other questions
  after a first one are searched as they are, with the previous question at half weight
  (see ``rag.retrieval.Retriever.search``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .citations import strip_markers
from .dates import DAYS, MONTHS
from .places import other_names
from .records import Turn
from .text import STOPWORDS

# Weight of a follow-up's own words in retrieval when it points back ("How long did it
# last?"): searched with the previous question at full weight, the follow-up alone adds a
# little ("last" finds "lasted around 90 minutes"); at half weight, the passages that merely
# share its few words ("What calendar date is that?" -> "proposed dates") crowd out the
# conversation's (the seed follow-ups q094-q101, docs/experiments.md).
FOLLOWUP_WEIGHT = 0.25

_PERSONAL = re.compile(r"\b(?:he|she|him|her|his)\b", re.I)
_BACK = re.compile(
    r"\b(?:he|she|him|her|his|it|its|they|them|their|that|this|those|these|there|then)\b", re.I
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


@dataclass(frozen=True)
class Plan:
    """How a question is searched and asked, given the conversation before it."""

    asked: str  # the question as put to the model, pronouns resolved
    query: str  # the main retrieval query
    extra: tuple[str, ...]  # further queries, fused in at ``weight``
    weight: float
    topic: str  # what focus and the checker compare sentences with


def plan(question: str, turns: Sequence[Turn]) -> Plan:
    """The searches for ``question`` after ``turns`` (the conversation so far, oldest first).

    >>> plan("How long did it last?", [Turn("When did they meet?", "On Friday [1].")]).query
    'When did they meet? How long did it last?'
    >>> p = plan("Who is Kuleba?", [Turn("When did they meet?", "On Friday [1].")])
    >>> p.query, p.extra, p.weight
    ('Who is Kuleba?', ('When did they meet? Who is Kuleba?',), 0.5)
    """
    if not turns:
        return Plan(question, question, (), 0.5, question)
    asked = resolve(question, turns[-1].answer)
    both = f"{turns[-1].question} {asked}"
    if refers_back(asked):  # "What date is that?" alone finds anything at all
        return Plan(asked, both, (asked,), FOLLOWUP_WEIGHT, f"{both} {asked}")
    return Plan(asked, asked, (both,), 0.5, f"{both} {asked}")


def refers_back(question: str) -> bool:
    """Whether the question points at something said before.

    >>> refers_back("How long did it last?"), refers_back("How long did the Geneva talks last?")
    (True, False)
    """
    return bool(_BACK.search(question))


def person(answer: str) -> str | None:
    """The person ``answer`` names most fully: the last word of its longest run of
    capitalised words (the first such run on a tie), not a country, capital, weekday or
    month. Other places are not known as such ("in Geneva" would be taken for a person), so
    only the personal pronouns are ever replaced.

    >>> person("US Secretary of State Antony Blinken [1]."), person("Dmytro Kuleba, who Blinken met in Kyiv.")
    ('Blinken', 'Kuleba')
    >>> person("They met on Friday in Moscow [1]."), person("The documents don't say.")
    (None, None)
    """
    runs: list[list[str]] = []
    previous_end = -2
    for m in _WORD.finditer(strip_markers(answer)):
        word = m.group()
        capital = word[0].isupper() and word.lower() not in STOPWORDS
        if capital and runs and m.start() == previous_end + 1:
            runs[-1].append(word)
        elif capital:
            runs.append([word])
        if capital:
            previous_end = m.end()
    candidates = [
        run
        for run in runs
        if not other_names(run[-1])
        and run[-1].capitalize() not in MONTHS
        and run[-1].lower() not in DAYS
    ]
    if not candidates:
        return None
    return max(candidates, key=len)[-1]


def resolve(question: str, previous_answer: str) -> str:
    """``question`` with "he"/"she"/"him"/"her" read as the person the previous answer names
    (and "his"/"her" before a noun as that person's).

    >>> resolve("What did he say about the troops?", "Kremlin spokesperson Dmitry Peskov [1].")
    'What did Peskov say about the troops?'
    >>> resolve("What did she warn of in her speech?", "German Foreign Minister Annalena Baerbock [1].")
    "What did Baerbock warn of in Baerbock's speech?"
    >>> resolve("How long did it last?", "They met on Friday in Geneva [1].")
    'How long did it last?'
    """
    name = person(previous_answer)
    if name is None:
        return question

    def swap(m: re.Match[str]) -> str:
        word = m.group().lower()
        if word == "his" or (word == "her" and _before_noun(question, m.end())):
            return f"{name}'s"
        return name

    return _PERSONAL.sub(swap, question)


def _before_noun(text: str, end: int) -> bool:
    """Whether the word after position ``end`` is a noun-like word (not a stopword, not the end)."""
    m = _WORD.search(text, end)
    return m is not None and m.start() == end + 1 and m.group().lower() not in STOPWORDS
