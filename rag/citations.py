"""Turn a model's raw reply into a checked answer: citations parsed, verified, mapped to files.

Small models cite the wrong passage, forget to cite, or state things no passage says. So
every sentence of the reply is checked against the passage it cites (lexical support, and
every number in the sentence must appear in the passage). A sentence whose citation does
not support it is re-pointed at the passage that does; a sentence no passage supports is
dropped. If nothing supported is left the answer becomes an abstention. Citations returned
are only passages actually cited by a surviving sentence, with the supporting sentence of
the passage as ``quote`` for highlighting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .chunking import looks_like_instruction, sentence_spans
from .dates import date_bare_weekdays
from .draft import Passage, date_passages
from .places import other_names, undot
from .prompting import NOT_FOUND
from .records import Citation, Hit
from .text import STOPWORDS, content_words, normalize_answer, support_score

SUPPORT_THRESHOLD = 0.6
MIN_NEW_WORDS = 2  # content words a claim must add to the question's to be judged on those alone
MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_PREAMBLE = re.compile(
    r"^(?:according to|based on|as stated in|as per) (?:the )?(?:\w+ )?(?:passages?|documents?|text)"
    r"(?: \[\d+\])?,?\s*",
    re.I,
)
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_SMALL = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
_TENS = "thirty forty fifty sixty seventy eighty ninety"
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(_SMALL.split())} | {
    w: str(10 * i) for i, w in enumerate(_TENS.split(), 3)
}
_NUMBER_WORD = re.compile(
    rf"\b(?P<tens>{'|'.join(_TENS.split() + ['twenty'])})[-\s](?P<unit>one|two|three|four|five|six|seven|eight|nine)\b"
    rf"|\b(?:{'|'.join(_NUMBER_WORDS)})\b",
    re.I,
)
# A capital right after one of these starts a quoted sentence; it does not name anything.
_OPENERS = {'"', "“", "‘", "'", ":", "(", "«"}
# A passage header the model copied from the prompt ("Passage [1] from a.txt, article dated
# Friday 2022-01-21:"): not a claim. The sentence after it is re-pointed by its content.
_HEADER = re.compile(
    r"(?:\bPassage\s*\[\d+\]|\[\d+\](?=\s*(?:from\s|\S+\.(?:txt|md|markdown|rst)\b|,?\s*\w+ dated\b)))"
    r"\s*(?:from\s+)?(?:\S+\.(?:txt|md|markdown|rst)\b)?(?:,?\s*\w+ dated \w+ \d{4}-\d\d-\d\d)?\s*:?\s*",
    re.I,
)
# A lead-in that makes a passage the sentence's subject ("According to Passage [3], X",
# "Passage [2] indicates that X"): the claim is X.
_LEADIN = re.compile(
    r"(?:\b(?:according to|as (?:stated|mentioned|reported) in|in|from)\s+)?\bPassages?\s*\[\d+\]"
    r"(?:\s*(?:,|and)\s*(?:Passage\s*)?\[\d+\])*\s*(?:,\s*|(?:both\s+|also\s+)?(?:says?|said|"
    r"states?|stated|indicated?s?|mention(?:s|ed)?|show(?:s|ed)?|reports?|reported|notes?|noted|"
    r"explain(?:s|ed)?|(?:tells?|told)\s+us)\s+(?:that\s+)?)",
    re.I,
)
# Two statements joined into one sentence, each of which may come from its own passage.
_CLAUSES = re.compile(r",\s+and\s+(?=\w+\s+\w+)|;\s+")
# What "how many" counts (two words: "additional forces"); "how much" asks for a quantity
# ("how much memory": "32 megabytes") whose noun an answer need not repeat.
_HOW_MANY = re.compile(r"\bhow many\s+(\w+(?:\s+\w+)?)", re.I)
# What a question asks for rather than about: "how many", "how long" say what kind of answer
# is wanted and need not be echoed by it ("How many members are there?": "There are 129.").
_ASKING = re.compile(r"\bhow\s+(?:many|much|long|often|far|old|big|large|soon|tall)\b", re.I)
_ABSTAIN = re.compile(
    r"not found|(?:do(?:es)?n[o’']t|do(?:es)? not|cannot|can't|can not) (?:contain|mention|say|"
    r"provide|specify|state|answer|find|include)|no (?:information|mention|answer)|"
    r"not (?:mentioned|provided|specified|stated|given|available|included)",
    re.I,
)


# What a refusal refers to: "The passages do not mention ...", "not given in the text".
_SOURCES = re.compile(
    r"\b(?:passages?|documents?|texts?|context|articles?|sources?|excerpts?|snippets?|"
    r"information)\b",
    re.I,
)


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    abstained: bool
    dropped: list[str]  # sentences removed as unsupported


def markers(text: str) -> list[int]:
    """Passage numbers cited in ``text``, in order of first appearance.

    >>> markers("It lasted 90 minutes [2]. Both met [1, 2][3].")
    [2, 1, 3]
    """
    seen: list[int] = []
    for m in MARKER.finditer(text):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            if int(n) not in seen:
                seen.append(int(n))
    return seen


def strip_markers(text: str) -> str:
    """``text`` without citation markers.

    >>> strip_markers("About 90 minutes [1][2].")
    'About 90 minutes.'
    """
    return MARKER.sub("", text).strip()


def says_not_found(reply: str) -> bool:
    """Whether the reply declines to answer: it says NOT FOUND, says nothing, or has a
    sentence saying the passages (documents, text, context, sources) do not give it. A
    sentence that merely reports something not being given ("Details were not provided
    until March") is a statement like any other, for the support check to judge.

    >>> says_not_found("NOT FOUND"), says_not_found("The passages do not mention it."), says_not_found("90 minutes [1]")
    (True, True, False)
    >>> says_not_found("Details were not provided until March, when the ministry published 40 pages [1].")
    False
    """
    return _refusal(reply) is not None or not strip_markers(reply).strip(" .")


def _refusal(reply: str) -> int | None:
    """Where ``reply`` first declines to answer (the refusal's first word), or None."""
    if NOT_FOUND in reply:
        return reply.find(NOT_FOUND)
    for s, e in sentence_spans(reply):
        sentence = reply[s:e]
        m = _ABSTAIN.search(sentence)
        if m and _SOURCES.search(_ABSTAIN.sub(" ", sentence)):
            return s + m.start()
    return None


def spell_numbers(text: str) -> str:
    """Small numbers written as words turned into digits, so "eight years" matches "8 years".

    >>> spell_numbers("More than eight years, Ninety minutes, twenty-five days, thirty one")
    'More than 8 years, 90 minutes, 25 days, 31'
    """

    def digits(m: re.Match[str]) -> str:
        if m.group("tens"):
            return str(
                int(_NUMBER_WORDS[m.group("tens").lower()])
                + int(_NUMBER_WORDS[m.group("unit").lower()])
            )
        return _NUMBER_WORDS[m.group(0).lower()]

    return _NUMBER_WORD.sub(digits, text)


def strip_headers(reply: str) -> str:
    """The reply without passage headers copied from the prompt.

    >>> strip_headers("Passage [1] from a.txt, article dated Friday 2022-01-21: Peskov said it [1].")
    'Peskov said it [1].'
    >>> strip_headers("It lasted 90 minutes [2].")
    'It lasted 90 minutes [2].'
    >>> strip_headers("According to Passage [3], Russia withdrew. Passage [2] indicates that they met [2].")
    'Russia withdrew. they met [2].'
    >>> strip_headers("Passage [1] reported that The Hill said so [1]. Passage [2] tells us that it rained.")
    'The Hill said so [1]. it rained.'
    """
    return _HEADER.sub("", _LEADIN.sub("", reply)).strip()


def numbers_supported(claim: str, passage: str) -> bool:
    """Every number in the claim appears in the passage (thousands separators ignored). The
    question's own figures too: "the winner in 2019" needs 2019 where it is cited, or the
    passage may be about another year.

    >>> numbers_supported("about 90 minutes", "lasted around 90 minutes"), numbers_supported("190,000 troops", "100,000 troops")
    (True, False)
    """
    have = {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(passage)}
    return all(n.replace(",", "").rstrip(".") in have for n in _NUMBER.findall(claim))


# A code-like token: an option (--cached), a dotted or joined name (core.editor,
# journal_mode=WAL, HEAD~4, alice@example.com), a snake_case name or a path (/etc/nanorc).
_IDENTIFIER = re.compile(
    r"(?<![\w-])(?:--?[A-Za-z][\w-]*|[\w-]*[A-Za-z][\w-]*(?:[.=~@:][\w-]+)+"
    r"|\w*[A-Za-z0-9]_\w*[A-Za-z0-9]\w*|/[\w.-]+(?:/[\w.-]+)*)"
)
_DOTTED_INITIALS = re.compile(r"(?:^|[^\w])(?:[A-Za-z]\.){2,}|^(?:[A-Za-z]\.)+[A-Za-z]?$")


def identifiers(text: str) -> set[str]:
    """The code-like tokens of ``text``, lowercased: like a figure, an identifier the answer
    states must be found where it is cited, and when found it is strong evidence.

    >>> sorted(identifiers("Set `core.editor` or GIT_EDITOR, run git diff --cached, see /etc/nanorc."))
    ['--cached', '/etc/nanorc', 'core.editor', 'git_editor']
    >>> sorted(identifiers("The U.S. and e.g. Paris held U.S.-Russia talks and/or met at 9:30 (3.5 percent)."))
    []
    """
    found = set()
    for m in _IDENTIFIER.finditer(text):
        token = m.group(0).rstrip(".:-").strip("_")
        if token and not _DOTTED_INITIALS.search(token) and not token.isdigit():
            if not re.fullmatch(r"[A-Za-z]+", token):  # stripped down to a plain word
                found.add(token.lower())
    return found


def identifiers_supported(claim: str, passage: str, given: frozenset[str] = frozenset()) -> bool:
    """Every identifier the claim states that the question did not is in the passage.

    >>> identifiers_supported("Set GIT_EDITOR.", "set the `GIT_EDITOR` variable"), identifiers_supported("Use --force.", "use --cached")
    (True, False)
    """
    have = passage.lower()
    return all(i in have for i in identifiers(claim) - given)


def supports(
    claim: str, passage: str, required: set[str] | None = None, given: frozenset[str] = frozenset()
) -> float:
    """How well ``passage`` supports ``claim``: the share of its content words found there,
    0 when one of its numbers or ``identifiers`` is missing, and raised halfway to 1 when all
    of them are found (matching figures and identifiers are strong evidence; framing words
    like "reports said" or "to make it your default" are not).
    Content words in ``given`` (the question's) are left out of the share when at least
    ``MIN_NEW_WORDS`` others remain: an answer restating the question in the asker's words
    ("Moscow says it won't pull its soldiers back because ...") is judged on what it adds.

    >>> supports("It lasted 90 minutes.", "The meeting lasted around 90 minutes.")
    1.0
    >>> supports("It lasted 80 minutes.", "The meeting lasted around 90 minutes.")
    0.0
    >>> claim, passage = "They refused to pull back, citing their own territory.", "They rejected calls to withdraw, citing their own territory."
    >>> supports(claim, passage), supports(claim, passage, given=frozenset({"refused", "pull", "back"}))
    (0.4, 1.0)
    """
    required = required or set()
    claim, passage = spell_numbers(claim), spell_numbers(passage)
    return max(
        (
            _window_support(claim, w, given) * _names_supported(required, w)
            for w in _windows(passage)
        ),
        default=0.0,
    )


def _windows(passage: str) -> list[str]:
    """The passage's sentences alone and in adjacent pairs: a claim must be backed by one
    place in the text, not by words scattered over the whole passage."""
    spans = sentence_spans(passage)
    sentences = [passage[s:e] for s, e in spans if not looks_like_instruction(passage[s:e])]
    return sentences + [f"{a} {b}" for a, b in zip(sentences, sentences[1:])]


def _window_support(claim: str, window: str, given: frozenset[str] = frozenset()) -> float:
    if not numbers_supported(claim, window) or not identifiers_supported(claim, window, given):
        return 0.0
    words = set(content_words(claim))
    new = words - given
    # Judged on what it adds when that is enough to go on: two words or more, or a name
    # ("The authors name Zotero." to "Which reference manager do the authors name?").
    if new != words and (len(new) >= MIN_NEW_WORDS or new & _named(claim)):
        score = len(new & set(content_words(window))) / len(new)
    else:
        score = support_score(claim, window)
    specific = _NUMBER.search(claim) or identifiers(claim) - given
    return (1.0 + score) / 2 if specific else score


def _named(claim: str) -> set[str]:
    """The claim's capitalised words after its first, lowercased: names, as content words."""
    words = re.findall(r"[^\W\d_][\w'’-]*", claim)[1:]
    return {w.lower() for w in words if w[0].isupper() and w.lower() not in STOPWORDS}


def best_quote(claim: str, passage: Passage) -> str:
    """The sentence of ``passage``'s chunk, as written, that best supports ``claim`` (read
    dated)."""
    return max(passage.sentences, key=lambda s: supports(claim, s[1]), default=("", ""))[0]


def names(claim: str, passages: Sequence[Hit]) -> set[str]:
    """Words of the claim that name something: the last word of each run of capitalised
    words after the first word ("President Joe Biden" -> "Biden": titles and first names
    vary between writers, surnames do not), and the first word too when the passages
    capitalise it mid-sentence or it names a country ("Polish", ``rag.places``).

    >>> sorted(names("Lavrov told the UN Security Council.", [Hit("a", "c", 1, "Then Lavrov spoke.", 0, 1)]))
    ['Council', 'Lavrov']
    >>> sorted(names("He said President Joe Biden met Scholz.", []))
    ['Biden', 'Scholz']
    >>> sorted(names('Biden said: "It is one thing."', []))
    []
    """
    words = re.findall(r"[^\W\d_][\w'’-]*|\S", claim)
    capital = [
        w[0].isupper() and w.lower() not in STOPWORDS and not (i and words[i - 1] in _OPENERS)
        for i, w in enumerate(words)
    ]
    out = {
        w
        for i, w in enumerate(words[1:], 1)
        if capital[i] and not (i + 1 < len(words) and capital[i + 1])
    }
    if words and capital[0] and not (len(words) > 1 and capital[1]):
        if other_names(words[0]) or any(
            re.search(rf"[^.!?\s]\s+{re.escape(words[0])}\b", p.text) for p in passages
        ):
            out.add(words[0])
    return out


def name_in(name: str, text: str) -> bool:
    """Whether ``text`` has ``name``, allowing the spelling variants transliterated names
    get (Zelenskyy, Zelenskiy, Zelensky): a long name may differ in its last two letters;
    and a country may go by another of its names (``rag.places``).

    >>> name_in("Zelenskyy", "Zelenskiy said so"), name_in("Lavrov", "Blinken said so")
    (True, False)
    >>> name_in("Moscow", "Russia said so"), name_in("American", "the U.S. said so"), name_in("Kyiv", "Russia said so")
    (True, True, False)
    >>> name_in("Russia's", "the Russian dates"), name_in("Johnson's", "Johnston said so")
    (True, False)
    >>> name_in("Git", "run git diff --cached"), name_in("Norman", "the Normans came")
    (True, True)
    """
    name, text = name.replace("’", "'"), text.replace("’", "'")
    name = name.removesuffix("'s")  # a possessive names the same thing: Russia's, Russia
    # Any case: a name the text writes in lower case (a command: git, nano) is the same name;
    # and its plural or possessive (Norman, the Normans, Norman's).
    if re.search(rf"\b{re.escape(name)}(?:e?s|'s)?\b", text, re.I):
        return True
    if len(name) >= 7 and any(
        _transliterated(name, m.group(0))
        for m in re.finditer(rf"\b{re.escape(name[:-2])}\w{{0,3}}\b", text)
    ):
        return True
    others = other_names(name)  # a country by another of its names: Moscow, Russia, Russian
    if not others:
        return False
    text = undot(text)
    return any(re.search(rf"\b{re.escape(o)}\b", text) for o in others)


def _transliterated(name: str, other: str) -> bool:
    """Whether two spellings of a long name differ only in their last letters, and there
    only in vowels and y, as transliterations do (Zelenskyy, Zelenskiy, Zelensky; Dmitriy,
    Dmitrii), not consonants as different names do (Johnston, Johnson; Stevens, Stevenson).

    >>> _transliterated("Zelenskyy", "Zelensky"), _transliterated("Johnson", "Johnston"), _transliterated("Stevenson", "Stevens")
    (True, False, False)
    """
    a, b = name.lower(), other.lower()
    common = len(os.path.commonprefix([a, b]))
    return common >= len(a) - 2 and all(c in "aeiouy" for c in a[common:] + b[common:])


def _names_supported(required: set[str], passage: str) -> float:
    return 1.0 if all(name_in(n, passage) for n in required) else 0.0


def check(
    reply: str,
    passages: Sequence[Passage | Hit],
    question: str = "",
    threshold: float = SUPPORT_THRESHOLD,
) -> Checked:
    """Verify ``reply`` against the numbered ``passages`` (1-based, as in the prompt), each
    read dated (``Passage.context``; plain ``Hit``s are dated here).

    Names the question itself uses (e.g. "Geneva" in "How long was the Geneva meeting?") need
    not appear in the supporting sentence, as the user supplied them, unless the name is the
    claim's subject. A sentence is also dropped when neither it nor its supporting sentence
    shares a (stemmed, non-name) word with the question: true, perhaps, but not an answer;
    likewise when the question asks "how many X" and neither mentions X.
    """
    passages = date_passages(passages)
    hits = [p.hit for p in passages]
    given = {w.lower() for w in re.findall(r"\w+", question)}
    asked = frozenset(content_words(spell_numbers(question))) | identifiers(question)
    topic = _stems(_ASKING.sub(" ", question))
    counted = _stems(" ".join(_HOW_MANY.findall(question)))  # "how many tanks" -> {"tank"}
    if says_not_found(reply) and not _has_supported_claim(reply, passages, threshold):
        return Checked("", [], True, [])
    kept: list[str] = []
    dropped: list[str] = []
    quotes: dict[int, str] = {}
    text = strip_headers(reply.replace(NOT_FOUND, ""))
    texts = [p.context for p in passages]
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        claim = _PREAMBLE.sub("", strip_markers(sentence))
        claim = claim[:1].upper() + claim[1:]
        if not normalize_answer(claim):
            continue
        named = names(claim, hits)
        # Names the question supplies are context, except the claim's subject (its first
        # name): "Lavrov told the Council X" needs Lavrov in the sentence that says X; not
        # when it only repeats the question's own phrase ("the Geneva meeting lasted ...").
        subject = next((w for w in re.findall(r"[\w'’-]+", claim) if w in named), None)
        if subject and repeats_phrase(claim, subject, question):
            subject = None
        required = {n for n in named if n.lower() not in given or n == subject}
        cited = [n for n in markers(sentence) if 1 <= n <= len(passages)]
        good = supporting(claim, cited, texts, required, threshold, asked)
        parts = [(claim, n) for n in good]
        if not good:  # "It was shelled on Friday, and Zelenskiy called it a provocation"
            clauses = split_clauses(claim)
            found = [
                supporting(
                    c, cited, texts, {n for n in required if name_in(n, c)}, threshold, asked
                )[:1]
                for c in clauses
            ]
            if len(clauses) < 2 or not all(found):
                dropped.append(claim)
                continue
            parts = [(c, f[0]) for c, f in zip(clauses, found)]
            good = list(dict.fromkeys(n for _, n in parts))
        evidence = [best_quote(c, passages[n - 1]) for c, n in parts]
        # The topic may be in the sentence next to the support: "Jen Psaki underscored the
        # urgency. We're now at a stage where ..." answers "Who said we're at a stage ...?"
        backing = [
            w
            for c, n in parts
            for w in _windows(spell_numbers(texts[n - 1]))
            if _window_support(spell_numbers(c), w, asked) >= threshold
        ]
        said = _stems(" ".join([claim, *evidence, *backing]))
        if (topic and not topic & said) or (counted and not counted & said):
            dropped.append(claim)  # true perhaps, but not an answer: off topic, or counts
            continue  # something other than what "how many ..." asks about
        for (_, n), quote in zip(parts, evidence):
            quotes.setdefault(n, quote)
        kept.append(with_markers(claim, good))
    if not kept:
        return Checked("", [], True, dropped)
    citations = [cite(n, h, quotes[n]) for n, h in enumerate(hits, 1) if n in quotes]
    return Checked(" ".join(kept), citations, False, dropped)


def with_markers(claim: str, numbers: Sequence[int]) -> str:
    """``claim`` ending in its citation markers, before its final punctuation.

    >>> with_markers("It lasted 90 minutes.", [2, 3])
    'It lasted 90 minutes [2] [3].'
    """
    body = claim.rstrip()
    end = body[-1] if body and body[-1] in ".!?" else "."
    return body.rstrip(".!?") + "".join(f" [{n}]" for n in numbers) + end


def cite(n: int, hit: Hit, quote: str) -> Citation:
    """Passage ``n`` of the prompt as a citation, with its supporting sentence."""
    return Citation(
        n, hit.source, hit.chunk_id, hit.start, hit.end, hit.text, hit.title, hit.date, quote,
        hit.page, hit.section,
    )  # fmt: skip


def repeats_phrase(claim: str, name: str, question: str) -> bool:
    """Whether ``name`` and the word after it in ``claim`` come together in ``question``
    too: then the name modifies the question's own phrase and is not the claim's subject.

    >>> repeats_phrase("The Geneva meeting lasted 90 minutes.", "Geneva", "How long did the Geneva meeting last?")
    True
    >>> repeats_phrase("Lavrov told the Council it.", "Lavrov", "What did Lavrov tell the Council?")
    False
    """
    after = re.search(rf"\b{re.escape(name)}\s+([a-z][\w'’-]*)", claim)
    if after is None:
        return False
    phrase = rf"\b{re.escape(name)}\s+{re.escape(after.group(1))}\b"
    return bool(re.search(phrase, question, re.I))


def split_clauses(claim: str) -> list[str]:
    """Statements joined into one sentence by ", and" or ";".

    >>> split_clauses("They met on Friday, and the talks lasted 90 minutes.")
    ['They met on Friday', 'the talks lasted 90 minutes.']
    >>> split_clauses("He met Britain, France and Germany.")
    ['He met Britain, France and Germany.']
    """
    return _CLAUSES.split(claim)


def supporting(
    claim: str,
    cited: list[int],
    texts: list[str],
    required: set[str],
    threshold: float,
    given: frozenset[str] = frozenset(),
) -> list[int]:
    """The cited passages that support ``claim``; if none does, the one passage that
    supports it best (re-pointed), or nothing."""
    good = [n for n in cited if supports(claim, texts[n - 1], required, given) >= threshold]
    if good:
        return good
    scores = [supports(claim, t, required, given) for t in texts]
    if not any(score >= threshold for score in scores):
        return []
    # Ties (every word the claim adds is in several passages) go to the passage holding
    # most of the claim's own words as well.
    best = max(range(len(scores)), key=lambda i: (scores[i], supports(claim, texts[i], required)))
    return [best + 1]


def _stems(text: str) -> set[str]:
    """Stemmed lemmas of the content words of ``text`` other than names (capitalised words).
    Lemmas first, so irregular forms meet their base: "met" and "meet", "said" and "say".

    >>> sorted(_stems("How long did the Geneva meeting last?")), sorted(_stems("They met."))
    (['last', 'long', 'meet'], ['meet'])
    """
    words = [
        w for w in re.findall(r"[^\W_]+", text) if not w[0].isupper() or w.lower() in STOPWORDS
    ]
    lemmas = [_lemma(w) for w in content_words(" ".join(words).lower())]
    return set(_stemmer().stemWords(lemmas))


@lru_cache(maxsize=65536)
def _lemma(word: str) -> str:
    import simplemma

    return str(simplemma.lemmatize(word, lang="en"))


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _has_supported_claim(reply: str, passages: Sequence[Passage], threshold: float) -> bool:
    """A reply that says "not found" may still carry a cited, supported fact before it."""
    at = _refusal(reply)
    claim = strip_markers(reply[: at if at is not None else len(reply)].replace(NOT_FOUND, ""))
    if len(normalize_answer(claim).split()) < 3:
        return False
    return any(supports(claim, p.context) >= threshold for p in passages)


def date_weekdays(answer: str, passages: Sequence[Passage]) -> str:
    """``answer`` with each bare weekday followed by the date its cited passages give it
    ("on Thursday" -> "on Thursday (February 17)"), when they give it exactly one: the
    model sees dated weekdays but sometimes copies the day alone, which a reader months
    later cannot place.

    >>> from .draft import date_passage
    >>> p = [date_passage(1, Hit("a", "c", 1, "Blinken spoke on Thursday, as he did on Monday.", 0, 1, date="2022-02-18"))]
    >>> date_weekdays("He spoke on Thursday [1]. It rained on Sunday [1].", p)
    'He spoke on Thursday (February 17) [1]. It rained on Sunday [1].'
    """
    out: list[str] = []
    for s, e in sentence_spans(answer):
        sentence = answer[s:e]
        dated = [passages[n - 1].context for n in markers(sentence) if 1 <= n <= len(passages)]
        out.append(date_bare_weekdays(sentence, dated))
    return " ".join(out)
