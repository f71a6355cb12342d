"""Countries go by several names in the news: "Moscow", "Russia", "Russian" and "the Russian
Federation" name one actor, as do "Washington", "the U.S." and "American". The checker
requires the subject of a claim in the sentence that supports it; this module lets any of a
country's names stand for the others (its name, other spellings, capital and demonym, from
the countryinfo package's data, offline).
"""

from __future__ import annotations

import re
from functools import lru_cache

_DOTTED = re.compile(r"\b(?:[A-Z]\. ?){1,3}[A-Z]\.?(?![\w.])|\b(?:[A-Z]\. ?)+[A-Z]\b")


def undot(text: str) -> str:
    """Acronyms written with full stops, as the data writes them without.

    >>> undot("The U.S. and the U. K. said so; E.U. too.")
    'The US and the UK said so; EU too.'
    """
    return _DOTTED.sub(lambda m: m.group(0).replace(".", "").replace(" ", ""), text)


@lru_cache(maxsize=1)
def _names() -> dict[str, frozenset[str]]:
    """Each name (``_key``) -> all names of its country. A name several entries share
    ("American": the United States and the Northern Mariana Islands) goes to the most
    populous of them."""
    from countryinfo import CountryInfo

    owner: dict[str, tuple[int, str]] = {}
    forms: dict[str, set[str]] = {}
    for key, country in CountryInfo.all().items():
        capital = country.get("capital") or ""
        capital = (capital[0] if isinstance(capital, list) else capital).split(" / ")[0]
        names = {
            country.get("name") or "",
            country.get("demonym") or "",
            capital,
            capital.removesuffix(" D.C."),  # Washington D.C. -> Washington
            *(a for a in country.get("altSpellings", []) if a.isascii()),
        }
        forms[key] = {undot(f) for f in names if len(f) >= 2 and not f.isdigit()}
        for f in forms[key]:
            rank = (country.get("population") or 0, key)
            owner[_key(f)] = max(owner.get(_key(f), rank), rank)
    groups = {
        key: frozenset(f for f in fs if owner[_key(f)][1] == key) for key, fs in forms.items()
    }
    return {f: groups[key] for f, (_, key) in owner.items()}


def _key(name: str) -> str:
    """Codes match only in capitals ("US", not "us"; "PER" is Peru, "Per" is not)."""
    return name if name.isupper() else name.lower()


@lru_cache(maxsize=4096)
def other_names(name: str) -> frozenset[str]:
    """The other names of the country ``name`` names (empty if it names none).

    >>> sorted(other_names("Moscow"))[:4]
    ['RU', 'RUS', 'Rossiya', 'Rossiyskaya Federatsiya']
    >>> {"US", "United States", "Washington"} <= other_names("American"), other_names("Blinken")
    (True, frozenset())
    >>> "Peru" in other_names("PER"), other_names("Per"), "Russia" in other_names("RUSSIAN")
    (True, frozenset(), True)
    """
    name = undot(name)
    group = _names().get(_key(name)) or _names().get(name.lower(), frozenset())
    return frozenset(f for f in group if f.lower() != name.lower())
