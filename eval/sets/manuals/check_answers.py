"""Check questions.jsonl against the documents in docs/.

    python check_answers.py            (from this folder, or give the folder as argument)

1. Format: the fields of eval/README.md "File format", ids m001..., kinds, histories.
2. Every answer string (``answers`` and ``all_of``) of an answerable question must occur
   in at least one of the question's ``sources``. Both sides are normalised the way the
   grader does it: NFKC, lowercase, punctuation removed, the articles a/an/the removed,
   whitespace collapsed; the answer must appear as whole words.
3. Unanswerable questions have no answers and no sources; for the near_miss questions,
   strings that the real answer (known from outside the documents) would contain must
   occur in no document (ABSENT below).

Exits 1 if anything fails. Needs only the standard library.
"""

from __future__ import annotations

import json
import re
import string
import sys
import unicodedata
from collections import Counter
from pathlib import Path

_CHAR_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-",
        "\u00ad": "", "\u2014": " ", "\u2015": " ",
    }
)  # fmt: skip
_THOUSANDS = re.compile(r"(?<=\d)[,\u00a0\u2009\u202f'\u2019](?=\d{3}(?!\d))")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset(string.punctuation)


def normalize(text: str) -> str:
    text = _THOUSANDS.sub("", text)
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP).lower()
    text = "".join(
        ch for ch in text if ch not in _PUNCT and not unicodedata.category(ch).startswith("P")
    )
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


# near_miss question -> strings the true answer (known from outside the documents) would
# contain; normalised like the answers, or a regular expression on the raw text ("re:").
ABSENT = {
    "What is the default size of Git's http.postBuffer?": ["1 MiB", "1048576", "1 megabyte"],
    "How long does Git's cache credential helper remember my password by default?": [
        "900", "15 minutes", "fifteen minutes",
    ],
    "Which version of OpenSSH do I need to generate ed25519 keys for Git hosting?": ["6.5"],
    "In which Git release did ort replace the previous default merge strategy?": [
        "2.34", "2.33", "recursive",
    ],
    "What SHA-1 does the Git tutorial give for the commit tagged v2.6?": ["git tag v2.6"],
    "What email address does Alice use in the Git tutorial's collaboration example?": [
        r"re:\S*alice\S*@|@\S*alice",
    ],
    "Who designed SQLite's write-ahead logging mode?": ["Hipp", "Dan Kennedy", "designed WAL"],
    "What is the default value of the journal_size_limit pragma?": ["journal_size_limit is -1"],
    "In which SQLite version was SQLITE_CHECKPOINT_TRUNCATE added?": ["3.8.8"],
    "Which company shipped the product that linked two copies of SQLite into one application?": [
        "the vendor was",
    ],
    "What is the name of the researcher whose fuzzer found the SAVEPOINT secondary-journal bug?": [
        "researcher named",
    ],
    "Which kernel version was the Tcl/Tk wiki server running when its SQLite database got corrupted?": [
        "kernel version", "linux 2.6", "linux 3.",
    ],
    "In which QNX release was the mmap() problem that corrupts SQLite databases fixed?": [
        "qnx 6", "qnx 7", "fixed in qnx",
    ],
    "Apart from the 281 TB size limit, how many columns can an SQLite table have at most?": [
        "2000 columns", "32767", "SQLITE_MAX_COLUMN", "maximum number of columns",
    ],
    "What is nano's default tab width?": ["tabsize", "tab size", "tab width"],
    "Which keystroke undoes the last edit in nano?": ["Meta-U", "M-U", "Alt+U"],
    "When did Chris Allegretta hand over nano's maintainership, and to whom?": [
        "Ramsey", "Benno", "Schulenberg", "maintainer of nano", "nano maintainer",
        "maintainership",
    ],
    "How much memory does the virtual machine that runs the SQLite website have?": [
        "GB of RAM", "RAM", "gigabytes of memory",
    ],
}

FIELDS = {"id", "question", "answers", "sources", "answerable", "kind", "all_of", "history"}
KINDS = {"fact", "number", "paraphrase", "quote", "multi_doc", "near_miss", "unanswerable",
         "followup"}  # fmt: skip


def main(folder: Path) -> int:
    raw_docs = {p.name: p.read_text(encoding="utf-8") for p in (folder / "docs").iterdir()}
    docs = {name: normalize(raw) for name, raw in raw_docs.items()}
    lines = (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    problems: list[str] = []
    checked = found = 0
    probes = 0
    near_miss_seen: set[str] = set()
    kinds: Counter[str] = Counter()
    for n, line in enumerate(lines, 1):
        q = json.loads(line)
        qid = q.get("id")
        kinds[q["kind"]] += 1
        if set(q) - FIELDS or not {"id", "question", "answers", "sources", "answerable", "kind"} <= set(q):
            problems.append(f"{qid}: bad fields {sorted(q)}")
        if qid != f"m{n:03d}":
            problems.append(f"line {n}: id {qid} is not m{n:03d}")
        if q["kind"] not in KINDS:
            problems.append(f"{qid}: unknown kind {q['kind']}")
        if "history" in q:
            if q["kind"] != "followup" or not all(
                set(t) == {"question", "answer"} for t in q["history"]
            ):
                problems.append(f"{qid}: bad history")
        elif q["kind"] == "followup":
            problems.append(f"{qid}: followup without history")
        for s in q["sources"]:
            if s not in docs:
                problems.append(f"{qid}: unknown source {s}")
        if not q["answerable"]:
            if q["answers"] or q["sources"] or q.get("all_of"):
                problems.append(f"{qid}: unanswerable with answers or sources")
            if q["kind"] == "near_miss":
                near_miss_seen.add(q["question"])
                for probe in ABSENT.get(q["question"], []):
                    probes += 1
                    if probe.startswith("re:"):
                        hits = [d for d, raw in raw_docs.items() if re.search(probe[3:], raw)]
                    else:
                        hits = [d for d, text in docs.items() if contains(text, normalize(probe))]
                    if hits:
                        problems.append(f"{qid}: near_miss probe {probe!r} found in {hits}")
                if q["question"] not in ABSENT:
                    problems.append(f"{qid}: near_miss without absence probes")
            continue
        if not q["answers"] or not q["sources"]:
            problems.append(f"{qid}: answerable without answers or sources")
        for ans in [*q["answers"], *q.get("all_of", [])]:
            checked += 1
            where = [s for s in q["sources"] if contains(docs[s], normalize(ans))]
            if where:
                found += 1
            else:
                problems.append(f"{qid}: {ans!r} not found in {q['sources']}")
    for question in set(ABSENT) - near_miss_seen:
        problems.append(f"probe list names a question not in the set: {question}")
    answerable = sum(1 for line in lines if json.loads(line)["answerable"])
    print(f"{len(lines)} questions: {answerable} answerable, {len(lines) - answerable} unanswerable")
    print("kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(f"answer strings checked: {checked}, found in their sources: {found}")
    print(f"near_miss absence probes checked: {probes}, found in any document: "
          f"{sum(1 for p in problems if 'probe' in p and 'found in' in p)}")  # fmt: skip
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
