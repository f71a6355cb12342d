"""Requests about whole documents: "Summarise report.pdf", "What are the main points of the
Reuters article?", "List every function the reference documents".

Reading every passage of a long document through a small model on two cores takes minutes
(30,000 tokens at about a hundred a second, before a word is written), so the model reads a
chosen part of it instead, picked with the embedder:

* a summary (main points, an overview) reads every stretch of the document: the document is
  cut into ``STRETCHES`` stretches of equal length (as many as it has sections, up to
  ``MAX_STRETCHES``, when it has more) and, from each, the chunk closest to
  both the whole document and its own stretch (the stored chunk vectors), then that chunk's
  sentences closest to the same, as many as the stretch's share of ``READ_TOKENS`` allows;
* a list ("list every ...") reads the chunks closest to what is to be listed, and their
  sentences closest to it, wherever they are in the document.

The first stretch of each document gives its opening sentences instead: a document says
what it is about first (for a manual, "This manual is for the Nettle library, a low-level
cryptographic library"), and the sentences closest to the whole are often the most generic
("This function also resets the context").

Only prose is read: code, headings, list numbers, questions and lines of a table, a contents
page or an index are left out, so they can never be cited. The model is then asked about
each excerpt alone, in reading order, in a short generation of its own: shorten it to one
sentence, or name what of the things to be listed it gives. A small model asked for a summary
of ten passages at once writes a few sentences from the first ones and drops the rest;
asked about one, it does what is asked, and the first line shows within seconds. Each
sentence is checked against its excerpt like any answer; one the excerpt does not support
gives way to the excerpt's own best sentence, quoted. A citation shows the whole chunk with
the sentence marked.

The trade: a summary is built from about ``READ_TOKENS`` tokens of the document rather than
from every word, so a point made in only one paragraph of a long stretch can be missed; and
it reads as one sentence per stretch, in the document's order, not as an essay.

Which documents: those the request names (file name, its stem, or its title), else the one
the best search hit comes from, or, when the request speaks of documents in the plural, the
few the search reaches most.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from .chunking import looks_like_instruction, sentence_spans
from .citations import says_not_found, with_markers
from .generation import Generator, Messages
from .prompting import Templates, format_passage, render
from .records import Citation, DocumentInfo, Hit
from .text import normalize_answer

# Asks for the gist or an inventory of whole documents rather than one fact. These are the
# verbs and nouns of the request itself, not of any document's subject.
_WHOLE = re.compile(
    r"\b(?:summari[sz](?:e|es|ing|ation)|summary|sum up|overview|gist|tl;?dr"
    r"|main (?:points?|ideas?|arguments?|findings?|messages?|takeaways?)"
    r"|key (?:points?|ideas?|findings?|takeaways?|facts)"
    r"|what (?:is|are) (?:it|this|that|these|the (?:\w+ )?(?:article|document|report|file|paper|page|chapter|manual|guide)s?) (?:all )?about"
    r"|list (?:every|all|each)\b)",
    re.I,
)
_LIST = re.compile(r"\blist (?:every|all|each)\b", re.I)
_PLURAL = re.compile(r"\b(?:articles|documents|reports|files|papers|sources|all of them)\b", re.I)
MAX_DOCUMENTS = 5  # read for one plural request, the ones the search reaches most
STRETCHES = 10  # a summary reads from this many stretches of each document's length,
MAX_STRETCHES = 16  # or from as many as it has sections, up to this many
READ_TOKENS = 900  # of excerpts the model reads for one request
SENTENCE_TOKENS = 70  # the model's sentence about one excerpt
LIST_CHUNKS = 10  # chunks a list is read from
CANDIDATES = 3  # chunks of a stretch whose sentences are weighed
FULL_WORDS = 15  # a sentence this long or longer counts fully (shorter: less)
MIN_WORDS = 6  # a shorter "sentence" is a heading, a label or a list number, not prose
# A line's list marker or heading mark ("1.", "2)", "-", "*", "#"), and a heading of the reply
# itself ("Main points:", "**Summary**"): neither is a claim.
_MARKER = re.compile(r"^\s*(?:#{1,6}\s*|[-*•+]\s+|\(?(?:\d{1,3}|[a-zA-Z])[.):]\s+)+")
_ENDED = re.compile(r"[.!?…][\"'”’)\]]*$")  # a heading or a caption has no full stop
# Not a statement: a question, a line of a contents page or an index ("Index 64 aes .", dot
# leaders), or a numbered heading run into the text that follows it ("6.2.12 struct ...").
_NOT_A_STATEMENT = re.compile(r"\?[\"'”’)]*$|\s[.…]$|\.\s?\.\s?\.|^\d+(?:\.\d+)+\s")
# A line break inside a paragraph: not before a blank line, a list item, a heading, a quote,
# a table row, a code fence or an indented line, nor after a blank line.
_WRAPPED = re.compile(r"(?<=[^\n])\n(?=[^\n\s#>|*+-])(?!\d{1,3}[.)]\s|```|~~~)")
# Talk of the excerpt itself ("The passage states that ...") before what it says.
_META = re.compile(
    r"^(?:(?:the|this) (?:passage|excerpt|text|section|document|article)|it)(?:'s main point)?\s+"
    r"(?:also\s+)?(?:is|states?|says|explains?|notes?|mentions?|indicates?|shows?)\s+(?:that\s+)?",
    re.I,
)
# An excerpt as the model is shown it: where it is from, then its text (not "Passage [n]",
# which the model then talks about).
_SHOWN = "(From $source$dated.)\n$text"
_NONE = re.compile(r"^\W*none\W*$", re.I)  # the model found nothing for the request
_LEADING = re.compile(r"^\[(\d+)\]\s*[:.)-]?\s*")  # a line that opens with its passage number
_EMPHASIS = re.compile(r"\*\*|__")
_CODE = re.compile(r"(?:^|\s)//|^\s*(?:\$|>>>|#|\d+\s+\W)")  # a comment, a prompt, a numbered line
_CODE_MARKS = re.compile(r"[{};<>]|={1,2}|\(\)|::|->")  # two of these: code, not prose
# A word of code: an identifier with an underscore, a pointer, a call or a bracketed label.
_IDENTIFIER = re.compile(r"\w_\w|^\*\w|\w\($|^\[\w+\]$")
# A sentence starts with a capital, a figure, a quote or code; a lower-case start is the
# rest of a sentence cut at a chunk's edge.
_STARTED = re.compile(r"^[\"'“‘(`*_]*[A-Z0-9À-Þ]")


def wants_whole(question: str) -> bool:
    """Whether ``question`` asks about whole documents (a summary, the main points, a list of
    every ...) rather than for one fact.

    >>> [wants_whole(q) for q in ("Summarise 002_9a8e.txt", "What are the main points of the Reuters article?", "List every figure the articles give for troop numbers", "How long did the meeting last?")]
    [True, True, True, False]
    """
    return bool(_WHOLE.search(question))


def wants_list(question: str) -> bool:
    """Whether a whole-document request asks for an inventory ("list every ...")."""
    return bool(_LIST.search(question))


def plural(question: str) -> bool:
    return bool(_PLURAL.search(question))


def named(question: str, documents: Sequence[DocumentInfo]) -> list[DocumentInfo]:
    """Documents the question names by file name, by its stem (at least 4 characters), or by
    its whole title.

    >>> docs = [DocumentInfo("002_9a8e.txt", "/d/002_9a8e.txt", 3, title="Blinken to meet Lavrov"), DocumentInfo("notes.md", "/d/notes.md", 1)]
    >>> [d.source for d in named("Summarise 002_9a8e", docs)], [d.source for d in named("summarise 'blinken to meet lavrov'", docs)]
    (['002_9a8e.txt'], ['002_9a8e.txt'])
    """
    text = question.lower()
    found = []
    for doc in documents:
        stem = doc.source.rsplit(".", 1)[0].lower()
        title = doc.title.lower().strip()
        if (
            doc.source.lower() in text
            or (len(stem) >= 4 and re.search(rf"(?<![\w.]){re.escape(stem)}(?![\w])", text))
            or (len(title) >= 12 and title in text)
        ):
            found.append(doc)
    return found


def in_order(hits: Sequence[Hit]) -> list[Hit]:
    """A document's chunks in reading order, documents in the order given, each without the
    text it shares with the chunk before it (chunks overlap), so nothing is read twice.

    >>> a, b = Hit("d.txt", "a", 1, "One. Two.", 0, 9, index=0), Hit("d.txt", "b", 1, "Two. Three.", 5, 16, index=1)
    >>> [(h.text, h.start) for h in in_order([b, a])]
    [('One. Two.', 0), ('Three.', 10)]
    """
    order = {source: i for i, source in enumerate(dict.fromkeys(h.source for h in hits))}
    out: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (order[h.source], h.index)):
        before = out[-1] if out and out[-1].source == hit.source else None
        if before is not None and before.end > hit.start:
            cut = before.end - hit.start
            rest = hit.text[cut:]
            start = hit.start + cut + (len(rest) - len(rest.lstrip()))
            if not rest.strip():
                continue  # all of it was in the chunk before
            hit = replace(hit, text=rest.strip(), start=start)
        out.append(hit)
    return out


def unrepeated(text: str) -> str:
    """``text`` without sentences said before in it, word for word.

    >>> unrepeated("It rose [1]. It fell [2]. It rose [1].")
    'It rose [1]. It fell [2].'
    """
    seen: set[str] = set()
    kept = []
    for s, e in sentence_spans(text):
        key = " ".join(text[s:e].lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(text[s:e])
    return " ".join(kept)


def is_prose(sentence: str) -> bool:
    """Whether a sentence of a document states something: at least ``MIN_WORDS`` words,
    mostly letters, a statement ended by a full stop (not a heading, a caption, a question
    or a line of a contents page or index), not code, not
    addressed to the assistant, nor the end of a sentence cut at a chunk's edge.

    >>> [is_prose(s) for s in ("Addons are dynamically-linked shared objects written in C++.", "Hello world", "napi_value result; napi_status status = napi_create_object(env, &result);", "1", "Table 2: Build options")]
    [True, False, False, False, False]
    >>> [is_prose(s) for s in ("Function and Concept Index 64 rsa_sign_digest and more .", "Now that we have seen the loop, what have we gained?", "6.2.12 struct nettle_cipher Nettle includes a struct about the cipher functions.")]
    [False, False, False]
    >>> is_prose("This is a proposal for creating a way to assign to variables within an expression using the notation NAME := expr.")
    True
    >>> is_prose("77 # Augment each todo with a backlink to the original location."), is_prose("The functions are int dsa_verify (const struct dsa_key *key, struct [Function] sha_ctx *hash) Verifies it.")
    (False, False)
    """
    words = re.findall(r"[^\W\d_]{2,}", sentence)
    visible = re.sub(r"\s", "", sentence)
    letters = sum(c.isalpha() for c in visible)
    tokens = sentence.split()
    return (
        len(words) >= MIN_WORDS
        and sum(bool(_IDENTIFIER.search(t)) for t in tokens) <= 0.15 * len(tokens)
        and _STARTED.match(sentence) is not None
        and _ENDED.search(sentence) is not None
        and not _NOT_A_STATEMENT.search(sentence)
        and letters >= 0.75 * len(visible)
        and not _CODE.search(sentence)
        and len(_CODE_MARKS.findall(sentence)) < 2
        and not looks_like_instruction(sentence)
    )


def _unit(vector: Sequence[float]) -> list[float]:
    norm = sum(x * x for x in vector) ** 0.5 or 1.0
    return [x / norm for x in vector]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def _mean(vectors: Sequence[Sequence[float]]) -> list[float]:
    return _unit([sum(column) / len(vectors) for column in zip(*vectors)])


def stretches(hits: Sequence[Hit], count: int) -> list[list[int]]:
    """Indices of ``hits`` (one document's chunks in reading order) in ``count`` stretches of
    equal length by character offset (fewer when there are fewer chunks); a chunk belongs to
    the stretch its middle falls in.

    >>> hits = [Hit("d", str(i), 0, "x", 100 * i, 100 * i + 100, index=i) for i in range(5)]
    >>> stretches(hits, 2), stretches(hits, 10)
    ([[0, 1], [2, 3, 4]], [[0], [1], [2], [3], [4]])
    """
    if not hits:
        return []
    count = max(1, min(count, len(hits)))
    first, last = hits[0].start, max(h.end for h in hits)
    length = max(1, last - first)
    out: list[list[int]] = [[] for _ in range(count)]
    for i, hit in enumerate(hits):
        middle = (hit.start + hit.end) / 2 - first
        out[min(count - 1, int(middle * count / length))].append(i)
    return [s for s in out if s]


@dataclass
class Excerpt:
    """Sentences of one chunk the model reads, as a ``Hit`` narrowed to them."""

    chunk: Hit  # the whole chunk (its citation shows it)
    hit: Hit  # the excerpt: the chosen sentences, from the first one's start
    best: str = ""  # the one that stands for it when the model's sentence is not supported


def excerpt(chunk: Hit, spans: Sequence[tuple[int, int]]) -> Excerpt:
    """``chunk`` narrowed to its sentences ``spans`` (offsets in ``chunk.text``, the best
    first); sentences that do not follow each other are joined with an ellipsis.

    >>> c = Hit("d.txt", "c", 0, "One is here. Two is here. Three is here.", 10, 50)
    >>> excerpt(c, [(0, 12), (26, 40)]).hit.text
    'One is here. … Three is here.'
    """
    flat = flowed(chunk.text)
    best = flat[spans[0][0] : spans[0][1]]
    spans = sorted(spans)
    text = flat[spans[0][0] : spans[0][1]]
    for (_, end), (s, e) in zip(spans, spans[1:]):
        gap = flat[end:s]
        text += (" " if not gap.strip() else " … ") + flat[s:e]
    start = chunk.start + spans[0][0]
    hit = replace(chunk, text=text, start=start, end=chunk.start + spans[-1][1])
    return Excerpt(chunk, hit, best)


Embed = Callable[[list[str]], list[list[float]]]


def flowed(text: str) -> str:
    r"""``text`` with the line breaks inside its paragraphs made spaces (same length, so
    offsets still hold): a sentence wrapped over lines, as in Markdown or plain text, is one
    sentence; a blank line, a list item, a heading, a table row or code starts anew.

    >>> flowed("Addons are\nshared objects.\n\n- one\n- two\n    code")
    'Addons are shared objects.\n\n- one\n- two\n    code'
    """
    return _WRAPPED.sub(" ", text)


def _sentences(chunk: Hit) -> tuple[str, list[tuple[int, int]]]:
    text = flowed(chunk.text)
    return text, [(s, e) for s, e in sentence_spans(text) if is_prose(text[s:e])]


def _weight(sentence: str) -> float:
    """Shorter sentences count for less: "This function also resets the context." is close
    to any stretch of a manual and says little."""
    return min(1.0, len(sentence.split()) / FULL_WORDS)


def best_excerpt(
    chunks: Sequence[Hit],
    target: Sequence[float],
    embed: Embed,
    budget: int,
    count: Callable[[str], int],
    lead: bool = False,
) -> Excerpt | None:
    """From the first ``CANDIDATES`` of ``chunks`` (best first) that hold prose: the one
    whose sentence is closest to ``target`` (weighted by length), narrowed to that sentence
    and its next closest, within ``budget`` tokens, none nearly the same as another; or,
    for the ``lead``, the first of ``chunks`` that holds prose, narrowed to its opening
    sentences."""
    found = [(c, *_sentences(c)) for c in chunks]
    found = [f for f in found if f[2]][:CANDIDATES]
    if not found:
        return None
    if lead:  # its opening sentences, in order
        chunk, text, spans = found[0]
        sizes = [count(text[s:e]) for s, e in spans]
        n = next((i for i in range(1, len(spans)) if sum(sizes[: i + 1]) > budget), len(spans))
        return excerpt(chunk, spans[:n])
    flat = [(k, span) for k, (_, _, spans) in enumerate(found) for span in spans]
    texts = [found[k][1][s:e] for k, (s, e) in flat]
    vectors = [_unit(v) for v in embed(texts)]
    score = [_dot(v, target) * _weight(t) for v, t in zip(vectors, texts)]
    best = max(range(len(flat)), key=lambda i: score[i])
    mine = sorted((i for i in range(len(flat)) if flat[i][0] == flat[best][0]), key=lambda i: -score[i])
    chosen: list[int] = []
    used = 0
    for i in mine:
        size = count(texts[i])
        if chosen and (used + size > budget or any(_dot(vectors[i], vectors[j]) > 0.9 for j in chosen)):
            continue
        chosen.append(i)
        used += size
    return excerpt(found[flat[best][0]][0], [flat[i][1] for i in chosen])


def choose(
    hits: Sequence[Hit],
    vectors: Sequence[Sequence[float]],
    embed: Embed,
    count: Callable[[str], int],
    topic: str = "",
    budget: int = READ_TOKENS,
) -> list[Excerpt]:
    """What the model reads of ``hits`` (chunks of one or more documents in reading order,
    ``vectors`` their stored embeddings): excerpts of every stretch of each document for a
    summary, or, given a ``topic`` (a list request), of the chunks closest to it; in
    reading order."""
    units = [_unit(v) for v in vectors]
    # Per excerpt to read: the chunks it may come from, best first (a chunk with no prose,
    # code or a table, gives way to the next), what its sentences should be close to.
    wanted: list[tuple[list[int], list[float], bool]] = []
    if topic:
        target = _unit(embed([topic])[0])
        ranked = sorted(range(len(hits)), key=lambda i: -_dot(units[i], target))
        wanted = [([i], target, False) for i in ranked[:LIST_CHUNKS]]
    else:
        sources = list(dict.fromkeys(h.source for h in hits))
        for source in sources:
            mine = [i for i, h in enumerate(hits) if h.source == source]
            sections = len({hits[i].section for i in mine} - {""})
            per_document = max(2, min(MAX_STRETCHES, max(STRETCHES, sections)) // len(sources))
            centre = _mean([units[i] for i in mine])
            for n, stretch in enumerate(stretches([hits[i] for i in mine], per_document)):
                group = [mine[j] for j in stretch]
                target = _unit([a + b for a, b in zip(centre, _mean([units[i] for i in group]))])
                if n == 0:  # a document says what it is about first: its lead is read
                    wanted.append((group, target, True))
                else:
                    ranked = sorted(group, key=lambda i: -_dot(units[i], target))
                    wanted.append((ranked, target, False))
    share = budget // max(1, len(wanted))
    out: list[Excerpt] = []
    for candidates, target, lead in wanted:
        chunks = [hits[i] for i in candidates]
        if found := best_excerpt(chunks, target, embed, share, count, lead):
            out.append(found)
    order = {h.chunk_id: n for n, h in enumerate(hits)}
    return sorted(out, key=lambda x: order[x.chunk.chunk_id])


def topic_of(request: str, documents: Sequence[DocumentInfo] = ()) -> str:
    """What a list request asks to be listed: the request without its asking words and the
    names of the documents it is about ("" for a summary).

    >>> topic_of("List every function the reference.html documents", [DocumentInfo("reference.html", "/d/reference.html", 3)])
    'function the documents'
    >>> topic_of("Summarise reference.html")
    ''
    """
    if not wants_list(request):
        return ""
    text = _LIST.sub(" ", request)
    for doc in documents:
        text = re.sub(re.escape(doc.source), " ", text, flags=re.I)
    return " ".join(text.split()).strip(" ?.:")


def messages(templates: Templates, request: str, n: int = 0, read: Excerpt | None = None) -> Messages:
    """The prompt for excerpt ``n`` (``read``); without one, the prompt's own wording."""
    passage = format_passage(_SHOWN, n, read.hit) if read is not None else ""
    return [
        {"role": "system", "content": templates.whole},
        {"role": "user", "content": render(templates.whole_user, passages=passage, request=request)},
    ]


def read_whole(
    generator: Generator,
    templates: Templates,
    request: str,
    excerpts: Sequence[Excerpt],
    max_tokens: int,
    supported: Callable[[str], bool] = lambda line: True,
) -> Iterator[str]:
    """For each excerpt in order, one line: the model's sentence about it for ``request``
    when ``supported`` (the checks) accepts it, else the excerpt's own best sentence, quoted;
    each ends with the excerpt's number in brackets; ``max_tokens`` written by the model in
    all. An excerpt the model finds nothing in for a list request gives no line.

    One short generation per excerpt, not one over all of them: a small model asked for a
    summary of ten passages writes a few sentences from the first ones and drops the rest;
    asked to shorten one, it does, and the first line shows within seconds (the system
    prompt is read once and kept)."""
    ask = question_for(request)
    listing = bool(topic_of(request))
    left = max_tokens
    for n, read in enumerate(excerpts, 1):
        if left <= 0:
            return
        budget = min(SENTENCE_TOKENS, left)
        reply = "".join(generator.stream(messages(templates, ask, n, read), budget))
        left -= generator.count_tokens(reply)
        line = sentence_of(reply)
        if not line and (listing or says_not_found(reply) or _NONE.match(reply.strip())):
            continue  # nothing here for the request
        if not line or not supported(with_markers(line, [n])):
            line = read.best
        yield with_markers(line, [n]) + "\n"


def question_for(request: str) -> str:
    """What the model is asked to do with each excerpt: shorten it to one sentence, or, for
    a list request, name what of the things to be listed it gives.

    >>> question_for("Summarise a.md"), question_for("List every function in a.md")
    ('Shorten to one sentence:', 'In one sentence, name every function in a.md this text gives (NONE if it gives none):')
    """
    if topic := topic_of(request):
        return f"In one sentence, name every {topic} this text gives (NONE if it gives none):"
    return "Shorten to one sentence:"


def sentence_of(reply: str) -> str:
    """The model's statement about one excerpt: its first line without list marks, talk of
    "the passage" or markers, cut after its last full sentence ("" for NONE, or when no
    sentence was finished).

    >>> sentence_of("The passage states that the pump must be primed. It has a")
    'The pump must be primed.'
    >>> sentence_of("NONE"), sentence_of("The excerpt discusses how the")
    ('', '')
    """
    line = tidy(reply, "").split("\n", 1)[0] if reply.strip() else ""
    line = _META.sub("", re.sub(r"(?:\s*\[\d+\])+(?=[.!?]?$)", "", line)).strip()
    if not line or says_not_found(line) or _NONE.match(line):
        return ""
    ends = [e for _, e in sentence_spans(line) if _ENDED.search(line[:e])]
    line = line[: ends[-1]] if ends else ""
    return line[:1].upper() + line[1:]


def tidy(reply: str, instructions: str) -> str:
    r"""The reply as sentences to check: list markers, heading marks and emphasis removed,
    the reply's own headings ("Main points:") and any line repeating the prompt's own
    wording (``instructions``: the prompt without the passages) left out.

    >>> tidy("[1] Addons are shared objects.\n[2]: They load with require()", "")
    'Addons are shared objects [1].\nThey load with require() [2].'
    >>> tidy("Main points:\n1. Addons are written in C++ [1].\n2) **They** load with require() [2].\nRequest: Summarise a.md [1].", "Request: Summarise a.md")
    'Addons are written in C++ [1].\nThey load with require() [2].'
    """
    said = normalize_answer(instructions)
    lines = []
    for line in reply.splitlines():
        line = _EMPHASIS.sub("", _MARKER.sub("", line)).strip()
        if lead := _LEADING.match(line):  # "[2] The parser ..." -> "The parser ... [2]."
            body = line[lead.end() :].strip()
            line = with_markers(body, [int(lead.group(1))]) if body else ""
        bare = normalize_answer(re.sub(r"\[\d+\]", " ", line))
        if not bare or (line.endswith(":") and "[" not in line) or bare in said:
            continue
        if re.match(r"^\w[\w ]{0,40}:\s", line) and normalize_answer(line.split(":")[0]) in said:
            continue  # a label of the prompt ("Request: ...") and what follows it
        lines.append(line)
    return "\n".join(lines)


def in_full(citation: Citation, excerpts: Sequence[Excerpt]) -> Citation:
    """A citation of an excerpt as one of the whole chunk (its paragraphs' lines joined, as
    the model read them), its supporting sentence marked."""
    chunk = excerpts[citation.n - 1].chunk
    text = flowed(chunk.text)
    pieces = [q.strip() for q in citation.quote.split("…") if q.strip() in text]
    quote = max(pieces, key=len, default="")
    return replace(citation, text=text, start=chunk.start, end=chunk.end, quote=quote)


__all__ = [
    "Excerpt", "choose", "in_full", "in_order", "named", "plural", "read_whole", "tidy",
    "topic_of", "unrepeated", "wants_whole",
]  # fmt: skip
