"""Loaders for the public benchmark files in ``../shared/datasets/`` (see its README.md).

* :func:`load_scifact` - BEIR SciFact: corpus, the 300 test queries and their qrels;
* :func:`load_squad2` / :func:`squad_paragraphs` - SQuAD 2.0 dev (first half): a seeded
  sample of answerable and unanswerable questions, and every paragraph for indexing;
* :func:`load_rgb` - RGB English counterfactual set (100 news questions with true, fake
  and irrelevant snippets).

The files are read where they are (never copied) with the standard library only. A missing
or unreadable file raises :class:`rag.errors.InputError` with a one-line message saying
which file is missing and where to put it.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import random
import tokenize
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import InputError

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
"""``<project root>/../shared/datasets``."""

SCIFACT_CORPUS = "scifact-corpus.zip"
SCIFACT_QUERIES = "scifact-queries.jsonl"
SCIFACT_QRELS = "scifact-qrels-test.tsv"
SQUAD2_FILE = "squad2-dev-half.json"
RGB_FILE = "rgb-en-fact.jsonl"

_SCIFACT_MEMBER = "corpus_train.csv"


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _require(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise InputError naming it and where it goes.

    >>> _require(Path("/nonexistent/x.json"), "SQuAD 2.0 dev file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.errors.InputError: SQuAD 2.0 dev file not found: put x.json in /nonexistent (see ...)
    """
    if not path.is_file():
        raise InputError(
            f"{what} not found: put {path.name} in {path.parent} (see ../shared/datasets/README.md)"
        )
    return path


def _resolve(path: str | Path, filename: str) -> Path:
    """A file path as given, or ``path / filename`` when ``path`` is a directory.

    >>> _resolve("/tmp", "a.json").name, _resolve("/x/b.json", "a.json").name
    ('a.json', 'b.json')
    """
    path = Path(path)
    return path / filename if path.is_dir() else path


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InputError(f"{path} line {lineno} is not valid JSON: {e.msg}") from None
    return rows


def _dedupe(items: Iterable[str]) -> list[str]:
    """Strip items, drop empty ones and duplicates, keep the first occurrence's order.

    >>> _dedupe([" France", "France", "", "Paris "])
    ['France', 'Paris']
    """
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def _flatten(value: Any) -> list[str]:
    """All strings in a (possibly nested) list, in order, as strings.

    >>> _flatten([["July 21 2017", ["Jul 21, 2017"]], "x", 3])
    ['July 21 2017', 'Jul 21, 2017', 'x', '3']
    >>> _flatten("Tampa, Florida")
    ['Tampa, Florida']
    """
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _flatten(item)]
    return [] if value is None else [str(value)]


# --------------------------------------------------------------------------------------
# SciFact
# --------------------------------------------------------------------------------------


def parse_sentence_list(text: str) -> list[str]:
    """Parse the abstract column of SciFact's ``corpus_train.csv`` into sentences.

    The column is the repr of a NumPy string array, a Python-list look-alike whose items
    are separated by newlines rather than commas (``['One.'\\n 'Two.']``), so a plain
    ``ast.literal_eval`` would glue the sentences together. Each string literal is read
    separately with the tokenizer and ``ast.literal_eval`` (nothing is executed); a proper
    comma-separated list works too. Sentences are whitespace-stripped.

    >>> parse_sentence_list("['One.'\\n 'Two \\"quoted\\".  \\\\n']")
    ['One.', 'Two "quoted".']
    >>> parse_sentence_list("['a', \\"b's\\"]")
    ['a', "b's"]
    >>> parse_sentence_list("[]")
    []
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text.strip()).readline))
    except (tokenize.TokenError, SyntaxError) as e:
        raise ValueError(f"not a list of strings: {text[:60]!r}") from e
    ignorable = {
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.ENDMARKER,
        tokenize.INDENT,
        tokenize.DEDENT,
    }
    significant = [t for t in tokens if t.type not in ignorable]
    if len(significant) < 2 or significant[0].string != "[" or significant[-1].string != "]":
        raise ValueError(f"not a list of strings: {text[:60]!r}")
    sentences: list[str] = []
    for tok in significant[1:-1]:
        if tok.type == tokenize.STRING:
            value = ast.literal_eval(tok.string)
            if not isinstance(value, str):  # bytes literal
                raise ValueError(f"not a list of strings: {text[:60]!r}")
            sentences.append(value.strip())
        elif tok.string != ",":
            raise ValueError(f"not a list of strings: {text[:60]!r}")
    return [s for s in sentences if s]


def _read_scifact_corpus(path: Path) -> dict[str, str]:
    try:
        with zipfile.ZipFile(path) as zf:
            if _SCIFACT_MEMBER not in zf.namelist():
                raise InputError(
                    f"{path} has no {_SCIFACT_MEMBER}: replace it with the file from the README"
                )
            with zf.open(_SCIFACT_MEMBER) as raw:
                rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))
    except zipfile.BadZipFile:
        raise InputError(
            f"{path} is not a valid zip file: replace it with the file from the README"
        ) from None
    corpus: dict[str, str] = {}
    for row in rows:
        try:
            doc_id = row["doc_id"].strip()
            sentences = parse_sentence_list(row["abstract"])
        except (KeyError, ValueError, SyntaxError, AttributeError):
            raise InputError(
                f"{path}: unexpected row in {_SCIFACT_MEMBER} (doc_id {row.get('doc_id')!r})"
            ) from None
        title = (row.get("title") or "").strip()
        abstract = " ".join(sentences)
        corpus[doc_id] = f"{title}\n{abstract}" if title else abstract
    return corpus


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read BEIR (``qid, docid, score`` with header) or TREC (``qid 0 docid score``) qrels."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.split()
            if not fields or fields[0] == "query-id":
                continue
            if len(fields) == 4:
                query_id, _, doc_id, score = fields
            elif len(fields) == 3:
                query_id, doc_id, score = fields
            else:
                raise InputError(f"{path} line {lineno}: expected 'query-id doc-id score'")
            try:
                grade = int(score)
            except ValueError:
                raise InputError(
                    f"{path} line {lineno}: score {score!r} is not an integer"
                ) from None
            if grade > 0:
                qrels.setdefault(query_id, {})[doc_id] = grade
    return qrels


def load_scifact(
    dir: str | Path = DEFAULT_DIR,
) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """Load BEIR SciFact: ``(corpus, test queries, qrels)``.

    * corpus: doc id -> ``"title\\nabstract"`` (abstract sentences joined by spaces),
      5,183 documents;
    * queries: query id -> text, only the 300 ids that have test qrels;
    * qrels: query id -> {doc id: 1}.

    Raises InputError when a file is missing or a qrel names an unknown query or document.

    >>> corpus, queries, qrels = load_scifact()
    >>> len(corpus), len(queries), sum(len(d) for d in qrels.values())
    (5183, 300, 339)
    >>> queries["1"], qrels["1"]
    ('0-dimensional biomaterials show inductive properties.', {'31715818': 1})
    """
    dir = Path(dir)
    corpus = _read_scifact_corpus(_require(dir / SCIFACT_CORPUS, "SciFact corpus"))
    qrels = _read_qrels(_require(dir / SCIFACT_QRELS, "SciFact test qrels"))
    all_queries = {
        str(row["_id"]): str(row["text"])
        for row in _read_jsonl(_require(dir / SCIFACT_QUERIES, "SciFact queries"))
    }
    missing_q = sorted(set(qrels) - set(all_queries))
    if missing_q:
        raise InputError(
            f"{dir / SCIFACT_QUERIES} lacks {len(missing_q)} query ids used in the qrels, "
            f"e.g. {missing_q[0]}"
        )
    missing_d = sorted({d for docs in qrels.values() for d in docs} - set(corpus))
    if missing_d:
        raise InputError(
            f"{dir / SCIFACT_CORPUS} lacks {len(missing_d)} doc ids used in the qrels, "
            f"e.g. {missing_d[0]}"
        )
    queries = {qid: all_queries[qid] for qid in all_queries if qid in qrels}
    return corpus, queries, qrels


# --------------------------------------------------------------------------------------
# SQuAD 2.0
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SquadItem:
    """One SQuAD 2.0 question with its paragraph.

    ``answers`` are the distinct gold answer texts (empty when unanswerable);
    ``paragraph_id`` matches the ids of :func:`squad_paragraphs`.
    """

    id: str
    question: str
    answers: list[str]
    answerable: bool
    context: str
    title: str
    paragraph_id: str = field(default="")
    starts: tuple[int, ...] = ()  # each gold answer's offset in ``context``, as ``answers``


def _read_squad(path: str | Path) -> list[dict[str, Any]]:
    file = _require(_resolve(path, SQUAD2_FILE), "SQuAD 2.0 dev file")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise InputError(
            f"{file} is not a SQuAD 2.0 JSON file: replace it with the file from the README"
        ) from None
    return data


def _squad_items(path: str | Path) -> list[SquadItem]:
    items: list[SquadItem] = []
    for article in _read_squad(path):
        title = article["title"]
        for i, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                answerable = not qa.get("is_impossible", False)
                answers = _dedupe(a["text"] for a in qa.get("answers", [])) if answerable else []
                first: dict[str, int] = {}
                for a in qa.get("answers", []) if answerable else []:
                    first.setdefault(a["text"], int(a["answer_start"]))
                items.append(
                    SquadItem(
                        id=qa["id"],
                        question=qa["question"].strip(),
                        answers=answers,
                        answerable=answerable,
                        context=paragraph["context"],
                        title=title,
                        paragraph_id=f"{title}-{i}",
                        starts=tuple(first[a] for a in answers),
                    )
                )
    return items


def _sample(items: list[SquadItem], n: int | None, seed: int, what: str) -> list[SquadItem]:
    """``n`` items drawn with ``random.Random(seed)``, returned in file order (None: all)."""
    if n is None:
        return list(items)
    if not 0 <= n <= len(items):
        raise ValueError(f"asked for {n} {what} questions, the file has {len(items)}")
    picked = set(random.Random(seed).sample(range(len(items)), n))
    return [item for i, item in enumerate(items) if i in picked]


def load_squad2(
    path: str | Path = DEFAULT_DIR / SQUAD2_FILE,
    n_answerable: int | None = 200,
    n_unanswerable: int | None = 200,
    seed: int = 0,
) -> list[SquadItem]:
    """A seeded sample of SQuAD 2.0 questions: the answerable ones, then the unanswerable.

    Each half is drawn with its own ``random.Random(seed)`` (so changing one size does not
    change the other half) and kept in file order. ``None`` takes the whole half (2,910
    answerable and 3,168 unanswerable questions in this file). ``path`` may be the file
    or the directory holding it.

    >>> items = load_squad2(n_answerable=2, n_unanswerable=1)
    >>> [item.answerable for item in items]
    [True, True, False]
    >>> items == load_squad2(n_answerable=2, n_unanswerable=1)
    True
    """
    answerable: list[SquadItem] = []
    unanswerable: list[SquadItem] = []
    for item in _squad_items(path):
        (answerable if item.answerable else unanswerable).append(item)
    return _sample(answerable, n_answerable, seed, "answerable") + _sample(
        unanswerable, n_unanswerable, seed, "unanswerable"
    )


def squad_articles(
    path: str | Path = DEFAULT_DIR / SQUAD2_FILE,
) -> dict[str, tuple[str, list[int]]]:
    """Every article as one document: ``{title: (text, offsets)}``, the text its title line
    then its paragraphs separated by blank lines, ``offsets[i]`` where paragraph ``i`` starts.

    >>> text, offsets = squad_articles()["Normans"]
    >>> text[:7], text[offsets[0] : offsets[0] + 11]
    ('Normans', 'The Normans')
    """
    out: dict[str, tuple[str, list[int]]] = {}
    for article in _read_squad(path):
        title = article["title"]
        text, offsets = title.replace("_", " ") + "\n\n", []
        for paragraph in article["paragraphs"]:
            offsets.append(len(text))
            text += paragraph["context"].strip() + "\n\n"
            offsets[-1] -= len(paragraph["context"]) - len(paragraph["context"].lstrip())
        out[title] = (text, offsets)
    return out


def squad_paragraphs(path: str | Path = DEFAULT_DIR / SQUAD2_FILE) -> list[tuple[str, str]]:
    """Every paragraph as ``(paragraph_id, text)``, id ``f"{title}-{i}"`` (i from 0 per article).

    >>> paragraphs = squad_paragraphs()
    >>> len(paragraphs), paragraphs[0][0], paragraphs[0][1][:30]
    (646, 'Normans-0', 'The Normans (Norman: Nourmands')
    """
    return [
        (f"{article['title']}-{i}", paragraph["context"])
        for article in _read_squad(path)
        for i, paragraph in enumerate(article["paragraphs"])
    ]


# --------------------------------------------------------------------------------------
# RGB
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RgbItem:
    """One RGB counterfactual question.

    ``answer`` lists the accepted forms of the true answer (nested lists flattened,
    duplicates dropped); ``fake_answer`` the counterfactual answer planted in
    ``positive_wrong``. ``positive`` snippets support the true answer, ``negative`` ones
    are irrelevant.
    """

    id: str
    query: str
    answer: list[str]
    fake_answer: list[str]
    positive: list[str]
    positive_wrong: list[str]
    negative: list[str]


def load_rgb(path: str | Path = DEFAULT_DIR / RGB_FILE) -> list[RgbItem]:
    """All RGB English counterfactual items (100), in file order; ids are strings.

    ``path`` may be the file or the directory holding it.

    >>> items = load_rgb()
    >>> len(items), items[0].query, items[0].answer, items[0].fake_answer
    (100, 'Super Bowl 2021 location', ['Tampa, Florida'], ['Glendale, Arizona'])
    """
    file = _require(_resolve(path, RGB_FILE), "RGB counterfactual file")
    items: list[RgbItem] = []
    for row in _read_jsonl(file):
        try:
            items.append(
                RgbItem(
                    id=str(row["id"]),
                    query=str(row["query"]).strip(),
                    answer=_dedupe(_flatten(row["answer"])),
                    fake_answer=_dedupe(_flatten(row["fakeanswer"])),
                    positive=_flatten(row.get("positive", [])),
                    positive_wrong=_flatten(row.get("positive_wrong", [])),
                    negative=_flatten(row.get("negative", [])),
                )
            )
        except KeyError as e:
            raise InputError(
                f"{file}: a row lacks the field {e.args[0]!r}; "
                "replace it with the file from the README"
            ) from None
    return items
