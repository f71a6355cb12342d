"""A document's title, date and author as the document itself states them, cleaned.

Every reader (``rag.formats``, ``rag.documents``) passes what it found through here, so
the same rules hold for every file type:

- Dates come only from the document's own metadata (a web page's meta tags and JSON-LD, a
  PDF's Info dictionary, Word's core properties, an EPUB's ``dc:date``, a dateline at the top
  of a text file) and only as a full calendar day: never a copyright year, a version number
  or a date found in the body. A day that does not exist or lies in the future is no date.
  An unknown date is "".
- Authors come only from explicit metadata (``<meta name="author">``, JSON-LD ``author``,
  a PDF's Author, Word's author, ``dc:creator``) and are cleaned of e-mail addresses, URLs,
  handles and brackets; a value that does not read as the name of a person or organisation
  (one letter, a month, a number, a tool's placeholder such as "python-docx") is dropped.
- Titles lose a version string, "by <author>" or the author's name run onto their end
  ("Nettle Manual version 3.4 Niels Möller" is "Nettle Manual"); a title that is only the
  name of a file is no title.
- All text is in Unicode NFC, and the spacing accents of LaTeX PDFs ("M¨oller": a diaeresis
  drawn as its own glyph before the letter) are joined to their letters ("Möller").
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

# ------------------------------------------------------------------------------- text

# Spacing accents as PDF text layers give them (TeX, and some other producers, draw an
# accent as a glyph of its own), with the combining mark each stands for and the letters it
# is joined to ("" for any letter with a precomposed form).
_ABOVE = {
    "\u00a8": ("\u0308", ""),  # ¨ diaeresis
    "\u00b4": ("\u0301", "aeiouyAEIOUYı"),  # ´ acute
    "`": ("\u0300", "aeiouAEIOUı"),  # ` grave
    "\u02c6": ("\u0302", ""),  # ˆ circumflex
    "\u02dc": ("\u0303", "anoANO"),  # ˜ tilde
    "\u02da": ("\u030a", "auAU"),  # ˚ ring
    "\u02c7": ("\u030c", ""),  # ˇ caron
    "\u02d8": ("\u0306", ""),  # ˘ breve
    "\u02d9": ("\u0307", ""),  # ˙ dot above
    "\u02dd": ("\u030b", "ouOU"),  # ˝ double acute
    "\u00af": ("\u0304", ""),  # ¯ macron
}
# Accents below the letter: the letters they go with tell which side they belong to.
_BELOW = {"\u00b8": ("\u0327", "cCsStT"), "\u02db": ("\u0328", "aeiouAEIOU")}  # ¸ ˛
_ACCENTS = {**_ABOVE, **_BELOW}
_ACCENT = re.compile(f"[{''.join(_ACCENTS)}]")
_DOTLESS = {"ı": "i", "ȷ": "j"}  # TeX puts accents on a dotless i or j
# The acute as an apostrophe: "it´s", "don´t", "I´m", "you´re", "I´ve", "we´ll", "I´d".
_CONTRACTION = re.compile(r"(?:s|t|m|d|re|ve|ll)(?![^\W\d_])")
# What may come before a mark joined to the letter after it at a word's start ("¨Uber").
_WORD_START = " \t\n([\"'“‘«–—-"


def clean_text(text: str) -> str:
    """``text`` in NFC with PDF spacing accents joined to their letters.

    A mark between two letters could belong to either: TeX draws it before its letter
    ("M¨oller"), other producers after ("Aviac¸a˜o"). The text's marks that fit only one
    side tell which way it is written; that way decides the rest.

    >>> clean_text("Niels M¨oller, Fran¸cois, Franc¸ois, d´ej`a, na¨ıve, Espa˜na, ¨Uber")
    'Niels Möller, François, François, déjà, naïve, España, Über'
    >>> clean_text("Ageˆncia Nacional de Aviac¸a˜o Civil")
    'Agência Nacional de Aviação Civil'
    >>> clean_text("it´s, I´m, `a`, `echo`, `a % b`, `COPY`ied, ~/x, /˜user")  # not accents
    'it´s, I´m, `a`, `echo`, `a % b`, `COPY`ied, ~/x, /˜user'
    >>> clean_text("fa¸con, probl`eme"), clean_text("Mo\u0308ller")  # a decomposed ö too
    ('façon, problème', 'Möller')
    """
    if _ACCENT.search(text):
        text = _join_accents(text)
    return unicodedata.normalize("NFC", text)


def _join_accents(text: str) -> str:
    spots = [(m.start(), *_sides(text, m.start())) for m in _ACCENT.finditer(text)]
    votes = [bool(after) for i, before, after in spots if bool(before) != bool(after)]
    marks_first = votes.count(True) >= votes.count(False)
    out: list[str] = []
    done = 0  # text[:done] is in out
    for i, before, after in spots:
        if before and i - 1 < done:
            before = ""  # that letter took another mark
        if before and after:
            if marks_first or text[i + 1] in _DOTLESS:
                before = ""
            else:
                after = ""
        if before:
            out += [text[done : i - 1], before]
            done = i + 1
        elif after:
            out += [text[done:i], after]
            done = i + 2
    return "".join(out) + text[done:]


def _sides(text: str, i: int) -> tuple[str, str]:
    """The letter with the mark at ``text[i]`` joined to the letter before it, and to the
    letter after it ("" where it does not join)."""
    mark = text[i]
    combining, letters = _ACCENTS[mark]
    prev, next_ = text[i - 1 : i], text[i + 1 : i + 2]
    if mark == "\u00b4" and _CONTRACTION.match(text, i + 1):
        return "", ""

    def joined(letter: str) -> str:
        if not letter or not letter.isalpha() or (letters and letter not in letters):
            return ""
        composed = unicodedata.normalize("NFC", _DOTLESS.get(letter, letter) + combining)
        return composed if len(composed) == 1 else ""

    if mark == "`":
        # Backticks also quote code ("`a % b`", "`COPY`ied"): one is a grave accent only
        # inside a word that has no other ("probl`eme").
        start = max(text.rfind(c, 0, i) for c in " \t\n") + 1
        end = min((j for c in " \t\n" if (j := text.find(c, i)) >= 0), default=len(text))
        if not prev.isalpha() or text.count("`", start, end) > 1:
            return "", ""
        return "", joined(next_)
    before, after = joined(prev), joined(next_)
    if after and not prev.isalpha() and i and prev not in _WORD_START and mark in _ABOVE:
        after = ""  # after a digit or a symbol: "/˜user" is a path
    return before, after


def one_line(text: str) -> str:
    return " ".join(clean_text(text).split())


# ------------------------------------------------------------------------------- dates

# Where a date is shown to a person (``rag docs``, the documents table), a document that
# states none; records, JSON and prompts keep "".
UNKNOWN_DATE = "unknown"

_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_YMD = re.compile(
    r"^\s*(?:D:)?((?:19|20)\d\d)(?:([-/.])(\d{1,2})\2(\d{1,2})|(\d\d)(\d\d)(?:\d{2,6})?)(?!\d)"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_DMY = re.compile(
    rf"^\s*{_WEEKDAY}(\d{{1,2}})(?:st|nd|rd|th)?\.?(?:\s+|-)({_MONTH})\.?,?(?:\s+|-)((?:19|20)\d\d)\b",
    re.I,
)
_MDY = re.compile(
    rf"^\s*{_WEEKDAY}({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b", re.I
)


def _today() -> dt.date:
    return dt.date.today()


def clean_date(value: str, today: dt.date | None = None) -> str:
    """The ISO day a metadata date states (ISO 8601, a PDF date, "15 January 2020",
    "January 15, 2020", an e-mail date), or "" when it names no whole day, no real day or a
    day after ``today``.

    >>> [clean_date(v) for v in ("2020-01-15T01:01:01+00:00", "D:20220118093000+01'00'",
    ...     "2020/1/5", "Wed, 15 Jan 2020 10:00:00 GMT", "15th January 2020", "Jan 15, 2020", "28-Feb-2018")]
    ['2020-01-15', '2022-01-18', '2020-01-05', '2020-01-15', '2020-01-15', '2020-01-15', '2018-02-28']
    >>> [clean_date(v) for v in ("2017", "2017-01", "Copyright 2000", "2021-02-30", "v2.5.0")]
    ['', '', '', '', '']
    >>> clean_date("2031-01-01", today=dt.date(2030, 6, 1))
    ''
    """
    value = value.strip()
    day: dt.date | None = None
    try:
        if m := _YMD.match(value):
            y, mo, d = (m[1], m[3], m[4]) if m[2] else (m[1], m[5], m[6])
            day = dt.date(int(y), int(mo), int(d))
        elif m := _DMY.match(value):
            day = dt.date(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
        elif m := _MDY.match(value):
            day = dt.date(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
        elif (parsed := email.utils.parsedate_tz(value)) and parsed[2]:
            day = dt.date(parsed[0], parsed[1], parsed[2])
    except (ValueError, TypeError, OverflowError):
        return ""
    # A clock a day ahead (time zones) still counts as today.
    latest = (today or _today()) + dt.timedelta(days=1)
    if day is None or not dt.date(1900, 1, 1) <= day <= latest:
        return ""
    return day.isoformat()


# ------------------------------------------------------------------------------ authors

_EMAIL = re.compile(r"<?(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?")
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"(?<!\w)@\w+")
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|<[^<>]*>")
_BY = re.compile(r"^(?:written\s+|posted\s+)?by[:\s]+", re.I)
# Names that tools write for an author nobody gave.
_PLACEHOLDERS = {
    "admin",
    "administrator",
    "anonymous",
    "author",
    "default",
    "microsoft office user",
    "owner",
    "python-docx",
    "root",
    "unknown",
    "user",
    "windows user",
}
# Words of a date or a page's furniture, which a byline scraped from text brings along
# ("V; Aug"); left out are those that are also names (Jan, Jun, Mar, May, June, Sun).
_NOT_NAME_WORDS = {
    *("feb", "apr", "jul", "aug", "sep", "sept", "oct", "nov"),
    *("mon", "tue", "wed", "thu", "fri", "sat", "am", "pm"),
    *("min", "read", "views", "comments", "posted", "updated"),
}
AUTHOR_SEPARATOR = "; "


def clean_author(value: str | Iterable[str]) -> str:
    """The names in an author field (or a list of them), without e-mail addresses, URLs,
    handles and brackets, joined by "; "; "" when any of them is not a name.

    >>> clean_author("Clark Cooper, coopercc@netheaven.com")
    'Clark Cooper'
    >>> clean_author(["Jane Roe", "By John Doe <jd@example.org>", "Jane Roe"])
    'Jane Roe; John Doe'
    >>> [clean_author(v) for v in ("(V; Aug)", "V. Aug", "python-docx", "jsmith", "2019", "@handle")]
    ['', '', '', '', '', '']
    >>> clean_author("Jan Kowalski"), clean_author("Sun Microsystems")
    ('Jan Kowalski', 'Sun Microsystems')
    >>> clean_author("Wikimedia Foundation"), clean_author("Troy D. Hanson"), clean_author("Roe, Jane")
    ('Wikimedia Foundation', 'Troy D. Hanson', 'Roe, Jane')
    >>> clean_author("Chris Angelico <rosuav@gmail.com>, Guido van Rossum <guido@python.org>")
    'Chris Angelico; Guido van Rossum'
    """
    values = [value] if isinstance(value, str) else list(value)
    names: list[str] = []
    for raw in values:
        text = one_line(raw)
        for pattern in (_EMAIL, _URL, _HANDLE):
            text = pattern.sub(" ", text)
        text = _BRACKETED.sub(" ", text)
        for part in re.split(r"\s*[;|]\s*", text):
            part = " ".join(_BY.sub("", part.strip(" ,;:/·•-–—")).split())
            for name in _names(re.sub(r"\s+,", ",", part).strip(" ,;:/·•-–—")):
                if not _is_name(name):
                    return ""
                if name.casefold() not in (n.casefold() for n in names):
                    names.append(name)
    return AUTHOR_SEPARATOR.join(names) if len(AUTHOR_SEPARATOR.join(names)) <= 200 else ""


def _names(text: str) -> list[str]:
    """Names in a comma-separated list when each is a full name ("Chris Angelico, Tim
    Peters"); "Smith, John" is one name, written surname first."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) > 1 and all(len(p.split()) >= 2 for p in parts):
        return parts
    return [", ".join(parts)] if parts else []


def _is_name(name: str) -> bool:
    """A person's or an organisation's name: a few words with letters, one of them a
    capitalised word of two letters or more, no digits, no dates, no placeholder."""
    if name.casefold() in _PLACEHOLDERS or any(c.isdigit() for c in name):
        return False
    words = name.replace(",", " ").split()
    if not 1 <= len(words) <= 12:
        return False
    if any(w.strip(".").casefold() in _NOT_NAME_WORDS for w in words):
        return False
    if len(words) == 1 and not name[:1].isupper():
        return False  # a login name ("jsmith")
    return any(
        sum(c.isalpha() for c in w) >= 2 and w[:1].isupper() and not w.endswith(".") for w in words
    )


# ------------------------------------------------------------------------------- titles

# A title that is the name of the file it was made from, or a tool's placeholder.
_FILE_NAME = re.compile(
    r"^Microsoft Word|\.(docx?|pdf|tex|dvi|ps|odt|rtf|html?|txt|md|indd|pptx?)$"
    r"|^(?:untitled(?: document)?|powerpoint presentation|slide \d+|document\d*)$",
    re.I,
)
# Marks a page puts after a heading as a link to it (Sphinx's pilcrow).
_ANCHOR_MARKS = " \u00b6\u00a7#\U0001f517"
_SLUG = re.compile(r"^[\w.]*(?:_[\w.]*|(?:-[\w.]*){2,})$")
_VERSION = re.compile(
    r"(?P<sep>[\s,:;|/(\[–—-]+)(?P<label>(?:for\s+)?(?:version|release|rel\.|ver\.)\s*\d+(?:\.\d+)*[a-z]?"
    r"|v\d+(?:\.\d+)+[a-z]?)[)\]]?(?P<tail>[^\d]*)$",
    re.I,
)
_TRAILING_BY = re.compile(r"[\s,;:|(\[–—-]+by\s+(?P<name>[^()\[\]]+?)[)\]]?$", re.I)
_SEPARATED = re.compile(r"[,;:|(\[–—-]")


def clean_title(title: str, author: str = "", file_stem: str = "") -> str:
    """A title without a version string, "by <author>" or the author's name run onto its end;
    "" when it is only the name of a file.

    >>> clean_title("Nettle Manual For the Nettle Library version 3.4 Niels M¨oller")
    'Nettle Manual For the Nettle Library'
    >>> clean_title("The Expat XML Parser Release 2.5.0"), clean_title("uthash User Guide (v2.3.0)")
    ('The Expat XML Parser', 'uthash User Guide')
    >>> clean_title("Adventures of Huckleberry Finn by Mark Twain", author="Mark Twain")
    'Adventures of Huckleberry Finn'
    >>> clean_title("Stand by Me"), clean_title("Apple ships iOS version 15.2"), clean_title("Version 2.0")
    ('Stand by Me', 'Apple ships iOS version 15.2', 'Version 2.0')
    >>> clean_title("huck-finn-1884-p22-scan", file_stem="huck-finn-1884-p22-scan"), clean_title("nettle.dvi")
    ('', '')
    >>> clean_title("Regular Expression HOWTO¶")
    'Regular Expression HOWTO'
    """
    title = one_line(title).rstrip(_ANCHOR_MARKS)
    if not title or _FILE_NAME.search(title) or _is_file_stem(title, file_stem):
        return ""
    names = [n for n in author.split(AUTHOR_SEPARATOR) if n]
    current = title
    while True:
        shorter = _strip_trailing(current, names)
        if shorter == current:
            break
        current = shorter
    return current if sum(c.isalpha() for c in current) >= 3 else title


def _is_file_stem(title: str, stem: str) -> bool:
    def key(s: str) -> str:
        return re.sub(r"[\s_-]+", " ", s).strip().casefold()

    return bool(stem and key(title) == key(stem)) or (" " not in title and bool(_SLUG.match(title)))


def _strip_trailing(title: str, names: list[str]) -> str:
    """``title`` with one trailing version string, "by <name>" or author name taken off."""
    for name in names:
        head = title[: -len(name)]
        if title.casefold().endswith(name.casefold()) and head and not head[-1].isalnum():
            head = re.sub(r"(?:\bby)?[\s,;:|(\[–—-]*$", "", head, flags=re.I)
            return head.rstrip(" ,;:|(-–—")
    if m := _TRAILING_BY.search(title):
        separated = bool(_SEPARATED.search(title[m.start() : m.start("name")]))
        if _looks_like_person(m["name"]) and (separated or _is_one_of(m["name"], names)):
            return title[: m.start()].rstrip(" ,;:|(-–—")
    if m := _VERSION.search(title):
        tail = m["tail"].strip(" ,;:|)]-–—")
        label = m["label"]
        separated = bool(_SEPARATED.search(m["sep"]))
        # "version 3.4" in lower case ends sentences too ("Apple ships iOS version 15.2"):
        # taken off only when set apart, capitalised, or followed by the author's name.
        stated = separated or label[:1].isupper() or (label[:1] in "vV" and label[1:2].isdigit())
        if (not tail and stated) or (tail and _looks_like_person(tail)):
            return title[: m.start()].rstrip(" ,;:|(-–—")
    return title


def _is_one_of(name: str, names: list[str]) -> bool:
    return name.strip().casefold() in (n.casefold() for n in names)


def _looks_like_person(text: str) -> bool:
    """Two to four capitalised words (initials allowed): "Niels Möller", "Troy D. Hanson"."""
    words = text.split()
    return 2 <= len(words) <= 4 and all(w[:1].isupper() and w[:1].isalpha() for w in words)


# ------------------------------------------------------------------------ web pages

# Meta tags (name, property or itemprop, lower-cased) that state when a page was published,
# then those that state when it was last changed (used only when none of the first is there).
PUBLISHED_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "citation_publication_date",
    "citation_date",
    "citation_online_date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "dc.date.created",
    "dcterms.created",
    "datecreated",
    "date",
    "prism.publicationdate",
    "publication_date",
    "publish_date",
    "publishdate",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "article.published",
    "creation_date",
    "created",
)
MODIFIED_KEYS = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
)
AUTHOR_KEYS = (
    "author",
    "dc.creator",
    "dcterms.creator",
    "citation_author",
    "parsely-author",
    "sailthru.author",
    "byl",
)


def html_metadata(raw: bytes | str) -> tuple[str, str]:
    """``(date, author)`` a web page declares: meta tags, JSON-LD and microdata
    (``itemprop``), and for the author also ``rel="author"`` links when all of them name the
    same one. Nothing is read from the page's text.

    >>> html_metadata('''<html><head><meta name="author" content="Clark Cooper, cc@x.com">
    ... <!-- Copyright (c) 2000 --></head><body><p>Released 2017-01-01.</p></body></html>''')
    ('', 'Clark Cooper')
    >>> html_metadata('''<html><head><script type="application/ld+json">{"@graph": [
    ... {"@type": "NewsArticle", "datePublished": "2021-03-04T09:00:00Z",
    ...  "author": [{"@type": "Person", "name": "Jane Roe"}]}]}</script></head></html>''')
    ('2021-03-04', 'Jane Roe')
    """
    from lxml import etree, html

    try:
        tree = html.fromstring(raw.encode("utf-8") if isinstance(raw, str) else raw)
    except (etree.ParserError, ValueError):
        return "", ""
    values: dict[str, list[str]] = {}
    for element in tree.xpath("//meta | //*[@itemprop]"):
        key = next(
            (
                element.get(a)
                for a in ("name", "property", "itemprop", "http-equiv")
                if element.get(a)
            ),
            None,
        )
        content = element.get("content") or element.get("datetime")
        if key and content and (element.tag == "meta" or element.get("itemprop")):
            for one in key.lower().split():
                values.setdefault(one, []).append(content)
    ld = list(_json_ld(tree))

    date = ""
    for keys, ld_keys in (
        (PUBLISHED_KEYS, ("datePublished", "dateCreated")),
        (MODIFIED_KEYS, ("dateModified",)),
    ):
        candidates = [v for k in keys for v in values.get(k, [])]
        candidates += [v for k in ld_keys for v in _ld_values(ld, k) if isinstance(v, str)]
        date = next((d for v in candidates if (d := clean_date(v))), "")
        if date:
            break

    author = ""
    for key in AUTHOR_KEYS:
        if key in values:
            author = clean_author(values[key])
            break
    if not author and (ld_names := [n for v in _ld_values(ld, "author") for n in _ld_names(v)]):
        author = clean_author(ld_names)
    if not author:
        linked = {
            " ".join(a.text_content().split())
            for a in tree.iter("a")
            if "author" in (a.get("rel") or "").split()
        }
        linked.discard("")
        if len(linked) == 1:
            author = clean_author(linked.pop())
    return date, author


def _json_ld(tree: Any) -> Iterator[dict[str, Any]]:
    """Every object in the page's JSON-LD scripts (through lists and ``@graph``)."""
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])


def _ld_values(objects: list[dict[str, Any]], key: str) -> list[Any]:
    return [o[key] for o in objects if o.get(key)]


def _ld_names(value: Any) -> list[str]:
    """Author names in a JSON-LD ``author``: a string, a Person/Organization or a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for v in value for n in _ld_names(v)]
    return []
