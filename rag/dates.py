"""Anchor relative days to the calendar: "on Wednesday" in an article dated Tuesday 2022-01-18
becomes "on Wednesday (January 19)".

A small model asked "on what date?" cannot do weekday arithmetic; it repeats "Wednesday".
So before passages reach the model (and the checker that verifies its answer), every weekday
in an article with a known date gets its date written next to it. News prose fixes the
direction: a weekday is the latest such day on or before the article's date ("said Friday",
"on Monday, Lavrov rejected", "last Wednesday"), unless its sentence speaks of the future
("will meet ... on Friday", "is scheduled", "next Thursday"), when it is the next such day
on or after it. A weekday right after a verb of saying ("said Friday that ... will") is when
it was said, so always the past.

The checker reads passages with years too (``read_dated``): the model is shown each
article's date, so "January 12, 2022" is what a 2022 article saying "January 12" says.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Sequence

from .chunking import sentence_spans

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(
    r"\b(?P<mod>(?:last|next|this|on|late|early)\s+)?(?P<day>" + "|".join(DAYS) + r")\b(?!\s*\()",
    re.I,
)
_FUTURE = re.compile(
    r"\b(?:will|shall|won't|scheduled|set to|is to|are to|plans? to|planned|expected to|"
    r"going to|upcoming|ahead of|next)\b",
    re.I,
)
_SAID = re.compile(
    r"\b(?:said|says|told|announced|stated|reported|added|warned|confirmed|wrote|tweeted)"
    r"(?:\s+(?:on|late|early|in a statement))?\s*$",
    re.I,
)


def resolve_day(
    weekday: str, published: dt.date, future: bool, strictly_past: bool = False
) -> dt.date:
    """The date a weekday names in an article published on ``published``.

    >>> d = dt.date(2022, 1, 18)  # a Tuesday
    >>> resolve_day("Friday", d, future=False), resolve_day("Friday", d, future=True)
    (datetime.date(2022, 1, 14), datetime.date(2022, 1, 21))
    >>> resolve_day("Tuesday", d, future=False), resolve_day("Tuesday", d, False, strictly_past=True)
    (datetime.date(2022, 1, 18), datetime.date(2022, 1, 11))
    """
    target = DAYS.index(weekday.lower())
    if future:
        return published + dt.timedelta(days=(target - published.weekday()) % 7)
    back = (published.weekday() - target) % 7
    return published - dt.timedelta(days=back or (7 if strictly_past else 0))


def _published(published: str) -> dt.date | None:
    """The article's date from its ISO form, or None when it has none (or an unreadable one)."""
    try:
        return dt.date.fromisoformat(published)
    except ValueError:
        return None


def anchor_weekdays(text: str, published: str) -> str:
    """``text`` with each weekday followed by its date, when ``published`` is an ISO date.

    >>> anchor_weekdays("He will fly to Kyiv on Wednesday. On Monday, Lavrov said no.", "2022-01-18")
    'He will fly to Kyiv on Wednesday (January 19). On Monday (January 17), Lavrov said no.'
    >>> anchor_weekdays("The White House said Friday that it will act.", "2022-01-18")
    'The White House said Friday (January 14) that it will act.'
    >>> anchor_weekdays("Burns visited Kyiv last Tuesday.", "2022-01-18")
    'Burns visited Kyiv last Tuesday (January 11).'
    >>> anchor_weekdays("Talks on Friday.", "")
    'Talks on Friday.'
    """
    day = _published(published)
    if day is None or not _WEEKDAY.search(text):
        return text
    out: list[str] = []
    done = 0
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        future = bool(_FUTURE.search(sentence))
        for m in _WEEKDAY.finditer(sentence):
            mod = (m.group("mod") or "").strip().lower()
            said = bool(_SAID.search(sentence[: m.start("day")]))
            ahead = mod == "next" or (future and not said and mod != "last")
            date = resolve_day(m.group("day"), day, ahead, strictly_past=mod == "last")
            out.append(text[done : s + m.end()])
            out.append(f" ({date:%B} {date.day})")
            done = s + m.end()
    out.append(text[done:])
    return "".join(out)


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
MONTHS += ["September", "October", "November", "December"]
_MONTH_DAY = re.compile(
    r"\b(?P<month>" + "|".join(MONTHS) + r")\s+(?P<day>[12]\d|3[01]|0?[1-9])\b(?!,?\s*\d)"
)


def anchor_years(text: str, published: str) -> str:
    """``text`` with a year after each month and day that lacks one, when ``published`` is
    an ISO date: the year putting that day nearest the article's date.

    The model is shown each article's date, so "William Burns visited Kyiv on January 12,
    2022" is what a passage dated 2022-01-18 says when it says "last Wednesday (January 12)".
    The checker reads passages through this so that a year taken from the article's date
    counts as found; the model's prompt is unchanged.

    >>> anchor_years("Burns visited Kyiv on Wednesday (January 12).", "2022-01-18")
    'Burns visited Kyiv on Wednesday (January 12, 2022).'
    >>> anchor_years("Talks on December 30 and on May 4, 2021.", "2022-01-18")
    'Talks on December 30, 2021 and on May 4, 2021.'
    >>> anchor_years("Talks on January 12.", "")
    'Talks on January 12.'
    """
    day = _published(published)
    if day is None:
        return text

    def year(m: re.Match[str]) -> str:
        month, d = MONTHS.index(m.group("month")) + 1, int(m.group("day"))
        candidates = []
        for y in (day.year - 1, day.year, day.year + 1):
            with contextlib.suppress(ValueError):  # February 29 in a year without one
                candidates.append(dt.date(y, month, d))
        if not candidates:
            return m.group(0)
        nearest = min(candidates, key=lambda c: abs((c - day).days))
        return f"{m.group(0)}, {nearest.year}"

    return _MONTH_DAY.sub(year, text)


def read_dated(text: str, published: str) -> str:
    """``text`` as the checker reads it: weekdays and days of the month given their dates
    (``anchor_weekdays``, then ``anchor_years``).

    >>> read_dated("Burns visited Kyiv last Wednesday.", "2022-01-18")
    'Burns visited Kyiv last Wednesday (January 12, 2022).'
    """
    return anchor_years(anchor_weekdays(text, published), published)


_BARE_DAY = re.compile(
    r"\b(?P<day>" + "|".join(d.capitalize() for d in DAYS) + r")\b"
    r"(?!\s*\(|,?\s+(?:" + "|".join(MONTHS) + r")\b)"
)


def date_bare_weekdays(sentence: str, dated: Sequence[str]) -> str:
    """``sentence`` with each weekday lacking a date followed by the one date the ``dated``
    texts (``anchor_weekdays`` output) give that weekday; left bare when they give none or
    several.

    >>> date_bare_weekdays("He spoke on Thursday.", ["Talks on Thursday (February 17, 2022)."])
    'He spoke on Thursday (February 17).'
    """

    def with_date(m: re.Match[str]) -> str:
        day = m.group("day")
        dates = {
            d for t in dated for d in re.findall(rf"\b{day} \((\w+ \d+)(?:, \d{{4}})?\)", t, re.I)
        }
        return f"{day} ({dates.pop()})" if len(dates) == 1 else day

    return _BARE_DAY.sub(with_date, sentence)
