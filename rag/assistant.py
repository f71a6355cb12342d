"""The assistant: retrieve, gate, prompt, stream, verify, cite.

``Assistant().ask("How long did the Geneva meeting last?")`` returns an ``Answer``;
``stream`` yields the model's text as it is written and ends with the checked ``Answer``,
whose text is authoritative (unsupported sentences removed, citations verified).

Abstention does not rely on the model's goodwill: when retrieval finds nothing relevant
enough the model is not asked at all, and when the model's reply has no sentence that a
cited passage supports the answer is an abstention too.

The reply and the passages it answers from travel as one record (``rag.draft.Draft``)
through the checks ``rag.checks`` lists; ``review`` runs those the settings turn on.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import overview
from .checks import Tools, enabled, review
from .citations import check
from .confidence import confidence
from .documents import require
from .draft import Draft, Passage, date_passage
from .embedding import Embedder
from .errors import InputError, NoIndexError
from .focus import asks_who, focus
from .followup import plan
from .generation import (
    Decline,
    Generator,
    Likelihood,
    LlamaCppGenerator,
    Messages,
    OpenAIGenerator,
)
from .ingest import Indexer, Progress
from .models import resolve_model
from .once import load_once
from .pdfpage import MarkedPage, mark_page
from .prompting import NOT_FOUND, build_messages, load_templates
from .records import Answer, Citation, DocumentInfo, Hit, IndexChange, IngestReport, Turn
from .retrieval import Retriever
from .settings import DEFAULT_COLLECTION, Settings, check_collection_name
from .store import Store, collections
from .watch import SETTLE
from .watch import watch as watch_paths

ABSTAIN_TEXT = "The documents don't say."
WIDER = 8  # a question limited to some documents searches this many times wider, then keeps theirs
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

HistoryLike = Sequence[Turn | tuple[str, str] | dict[str, str]]


class Assistant:
    """Answers questions from the indexed documents, citing them."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        store: Store | None = None,
        collection: str | None = None,
    ) -> None:
        self.settings = (settings or Settings.from_env()).with_(collection=collection)
        self.retriever = Retriever(self.settings, embedder=embedder, store=store)
        self._generator = generator
        self._lock = threading.Lock()
        # The assistants over other collections made by ``collection``, shared among them all.
        self._family: tuple[threading.Lock, dict[str, Assistant]] = (
            threading.Lock(),
            {self.settings.collection: self},
        )

    # -- parts, loaded on first use ------------------------------------------------------
    @property
    def generator(self) -> Generator:
        with self._lock:
            if self._generator is None:
                self._generator = load_generator(self.settings)
            return self._generator

    def collection(self, name: str | None) -> Assistant:
        """The same assistant over the collection ``name`` (its own when None), sharing the
        loaded models; each collection answers only from its own documents.

        >>> Assistant(collection="work-notes").collection("travel").settings.collection
        'travel'
        """
        if name is None:
            return self
        check_collection_name(name)
        lock, members = self._family
        with lock:
            if name not in members:
                member = Assistant(
                    self.settings.with_(collection=name),
                    embedder=self.retriever._embedder,
                    generator=self._generator,
                )
                member._family = self._family
                members[name] = member
            return members[name]

    def collections(self) -> list[str]:
        """The names of the collections in the index (the configured one first)."""
        return collections(self.settings)

    def store(self) -> Store:
        """The index the assistant reads and writes (made on first use)."""
        return self.retriever.open_store(create=True)

    def warm_up(self) -> None:
        """Load the embedding and generation models now rather than on the first question."""
        _ = self.retriever.embedder, self.generator

    # -- documents ----------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path | str], progress: Progress | None = None) -> IngestReport:
        paths = require(paths)  # a mistyped path is reported before any model loads
        indexer = Indexer(self.settings, self.store(), self.retriever.embedder)
        return indexer.ingest(paths, progress)

    def watch(
        self,
        paths: Iterable[Path | str],
        on_change: Callable[[IndexChange], None] | None = None,
        stop: threading.Event | None = None,
        *,
        on_ready: Callable[[IngestReport], None] | None = None,
        progress: Progress | None = None,
        settle: float = SETTLE,
    ) -> None:
        """Ingest ``paths``, then keep the index in line with them until ``stop`` is set (or
        KeyboardInterrupt): new, changed, renamed and removed files are applied within
        seconds, each once its file has been still for ``settle`` seconds, and reported to
        ``on_change`` once in the index. ``on_ready`` gets the first ingest's report. Blocks:
        run it on a thread of its own to go on meanwhile (``rag.watch``)."""
        paths = require(paths)
        indexer = Indexer(self.settings, self.store(), self.retriever.embedder)
        watch_paths(
            indexer,
            paths,
            on_change,
            stop,
            settle=settle,
            progress=progress,
            on_ready=on_ready,
            ignore=[self.settings.chroma_path],
        )

    def last_changed(self) -> str | None:
        """When the index last changed (an ingest, a deletion, a watched file), as an ISO 8601
        time in UTC; None when nothing was ever written (or it was written before the time
        was kept)."""
        try:
            store = self._existing_store()
        except NoIndexError:
            return None
        return (store.changed_at() or None) if store is not None else None

    def documents(self) -> list[DocumentInfo]:
        """The committed documents; [] before anything is ingested. A collection other than
        the default must exist (NoIndexError): looking never makes one."""
        store = self._existing_store()
        return store.documents() if store is not None else []

    def delete(self, source: str) -> list[str]:
        """Remove the document(s) named ``source`` from the index; returns their paths."""
        store = self._existing_store()
        if store is None:
            return []
        return Indexer(self.settings, store, self.retriever.embedder).delete(source)

    def _existing_store(self) -> Store | None:
        try:
            return self.retriever.open_store(create=False)
        except NoIndexError:
            if self.settings.collection != DEFAULT_COLLECTION:
                raise
            return None

    # -- questions ----------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: HistoryLike | None = None,
        *,
        top_k: int | None = None,
        documents: Sequence[str] | None = None,
    ) -> Answer:
        """The checked answer to ``question``; ``documents`` (file names) limits it to those."""
        for piece in self.stream(question, history, top_k=top_k, documents=documents):
            if isinstance(piece, Answer):
                return piece
        raise AssertionError("stream() always ends with an Answer")

    def prepare(
        self,
        question: str,
        history: HistoryLike | None = None,
        *,
        top_k: int | None = None,
        documents: Sequence[str] | None = None,
    ) -> Prepared:
        """Everything before generation: retrieval, focus, the relevance gate and the prompt.

        ``messages`` is empty when the gate decided to abstain without asking the model.
        """
        began = time.perf_counter()
        question, turns, searched = self._planned(question, history)
        topic, asked = searched.topic, searched.asked
        hits = self._search(searched, top_k or self.settings.top_k, documents)
        focused = focus(
            self.retriever.embedder.embed([topic])[0],
            hits,
            self.retriever.embedder,
            max_sentences=self.settings.focus_sentences,
            speaker=asks_who(asked),
            follow=self.settings.focus_follow,
        )
        timings = {"retrieve": _ms(began)}
        if not focused or focused[0].best < self.settings.min_relevance:
            return Prepared(question, [], [], hits, timings, began, topic)
        generator = self.generator
        passages = [date_passage(n, f.hit, f.text) for n, f in enumerate(focused, 1)]
        messages, shown = build_messages(
            asked,
            passages,
            turns,
            load_templates(self.settings.prompts),
            generator.count_tokens,
            generator.n_ctx - self.settings.max_tokens - 16,
        )
        return Prepared(
            question, messages, shown, hits, timings, began, topic, passages[: len(shown)]
        )

    def candidates(
        self, question: str, history: HistoryLike | None = None, k: int = 20
    ) -> list[Hit]:
        """The ``k`` best passages for ``question`` as ``prepare`` searches for them (a
        follow-up with its conversation), before its cut to the top-k and focus: where an
        evaluation looks first for the answer (``rag_eval.waterfall``)."""
        return self._search(self._planned(question, history)[2], k, None)

    def _planned(self, question: str, history: HistoryLike | None) -> tuple[str, list[Any], Any]:
        """The question cleaned, the conversation turns kept, and what to search for (a
        follow-up: "What did he say?" -> "What did Peskov say?")."""
        question = clean_question(question, self.settings.max_question_chars)
        turns = normalize_history(history)[-self.settings.history_turns :] if history else []
        return question, turns, plan(question, turns)

    def _search(self, searched: Any, k: int, documents: Sequence[str] | None) -> list[Hit]:
        hits = self.retriever.search(
            searched.query,
            k=k * WIDER if documents else k,
            extra_queries=searched.extra,
            extra_weight=searched.weight,
        )
        if documents:
            hits = [h for h in hits if h.source in documents][:k]
        return hits

    def stream(
        self,
        question: str,
        history: HistoryLike | None = None,
        *,
        top_k: int | None = None,
        documents: Sequence[str] | None = None,
        trail: list[tuple[str, Draft]] | None = None,
    ) -> Iterator[str | Answer]:
        """The reply as the model writes it, then the checked ``Answer``. A request about
        whole documents (a summary, the main points, a list of every ...) reads them whole
        (``rag.overview``); ``documents`` (file names) limits the question to those;
        ``trail`` receives each check's draft (see ``review``)."""
        if documents:
            known = {d.source for d in self.documents()}
            if unknown := [d for d in documents if d not in known]:
                raise InputError(
                    f"No document named {', '.join(unknown)} is in the index: "
                    "`rag docs` lists them."
                )
        if overview.wants_whole(question):
            sources = self.whole_documents(question, documents)
            if sources:
                yield from self.read_whole(question, sources)
                return
        p = self.prepare(question, history, top_k=top_k, documents=documents)
        timings = p.timings
        if not p.messages:
            timings["first_token"] = timings["total"] = _ms(p.began)
            yield ABSTAIN_TEXT
            yield Answer(ABSTAIN_TEXT, True, [], timings, p.hits, "")
            return
        generator = self.generator
        reply: list[str] = []
        decline = decline_rule(self.settings)
        likelihood = Likelihood()
        for piece in generator.stream(p.messages, self.settings.max_tokens, decline, likelihood):
            if not reply:
                timings["first_token"] = _ms(p.began)
            reply.append(piece)
            yield piece
        timings.setdefault("first_token", _ms(p.began))
        draft = self.review("".join(reply), p, confidence(likelihood), trail)
        timings["total"] = _ms(p.began)
        yield answer_of(draft, timings, generator.name, asdict(likelihood))

    def page_of(self, citation: Citation) -> list[Hit]:
        """The text of the page a citation's passage is on, as its chunks in reading order
        without the text they share ([] for a passage of an unpaged file)."""
        if citation.page is None:
            return []
        return overview.in_order(self.store().page_chunks(citation.chunk_id))

    def page_image(self, citation: Citation) -> MarkedPage | None:
        """The PDF page a citation's passage is on, rendered with the passage marked and its
        supporting sentence marked strongly (``rag.pdfpage``); None for a passage of another
        kind of file, or when the file is gone or no longer holds the passage on that page."""
        if citation.page is None:
            return None
        # The passage's own chunk names its file: one row read, not the whole catalogue.
        rows = self.store().chunk_rows([citation.chunk_id])
        path = rows[0][2].get("path") if rows else None
        if not path:
            return None
        return mark_page(path, citation.page, citation.text, citation.quote)

    def whole_documents(self, question: str, documents: Sequence[str] | None = None) -> list[str]:
        """The documents a whole-document request is about: those given, else those it
        names, else the best search hit's (the few the search reaches most, for a request
        about documents in the plural)."""
        if documents:
            return list(documents)
        if chosen := overview.named(question, self.documents()):
            return [d.source for d in chosen]
        hits = self.retriever.search(
            clean_question(question, self.settings.max_question_chars), k=12
        )
        ranked = list(dict.fromkeys(h.source for h in hits))
        return ranked[: overview.MAX_DOCUMENTS if overview.plural(question) else 1]

    def read_whole(self, question: str, sources: Sequence[str]) -> Iterator[str | Answer]:
        """Answer ``question`` from excerpts of every stretch of ``sources`` (the parts
        closest to what is asked, for a list; ``rag.overview``), streamed, each sentence of
        the result checked against the excerpt it cites."""
        began = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        chunks = overview.in_order(self.retriever.chunks_of(set(sources)))
        embedder = self.retriever.embedder
        generator = self.generator
        excerpts = overview.choose(
            chunks,
            self.store().embeddings([h.chunk_id for h in chunks]),
            lambda texts: [list(v) for v in embedder.embed(texts)],
            generator.count_tokens,
            overview.topic_of(question, [d for d in self.documents() if d.source in sources]),
        )
        read = [x.hit for x in excerpts]
        timings = {"retrieve": _ms(began)}
        if not excerpts:
            timings["first_token"] = timings["total"] = _ms(began)
            yield ABSTAIN_TEXT
            yield Answer(ABSTAIN_TEXT, True, [], timings, read, generator.name)
            return
        reply: list[str] = []
        templates = load_templates(self.settings.prompts)
        for piece in overview.read_whole(
            generator,
            templates,
            question,
            excerpts,
            self.settings.whole_tokens,
            lambda line: not check(line, read).abstained,
        ):
            if not reply:
                timings["first_token"] = _ms(began)
            reply.append(piece)
            yield piece
        timings.setdefault("first_token", _ms(began))
        prompt = overview.messages(templates, question)
        checked = check(
            overview.tidy("".join(reply), "\n".join(m["content"] for m in prompt)), read
        )
        timings["total"] = _ms(began)
        if checked.abstained:
            yield Answer(ABSTAIN_TEXT, True, [], timings, read, generator.name)
        else:
            text = overview.unrepeated(checked.text)
            citations = [overview.in_full(c, excerpts) for c in checked.citations]
            yield Answer(text, False, citations, timings, read, generator.name)

    def review(
        self,
        reply: str,
        p: Prepared,
        sure: float | None = None,
        trail: list[tuple[str, Draft]] | None = None,
    ) -> Draft:
        """The model's ``reply`` to ``p`` (given with confidence ``sure``) through the checks
        the settings turn on (``rag.checks``, in the order listed there); ``trail`` receives
        each check's name and the draft it returned."""
        embedder = self.retriever.embedder
        tools = Tools(
            self.generator,
            load_templates(self.settings.prompts),
            search=lambda query, k: self.retriever.search(query, k=k),
            embed=lambda texts: [list(v) for v in embedder.embed(texts)],
            min_confidence=self.settings.min_confidence,
            min_answers=self.settings.min_answers,
        )
        draft = p.draft(reply)
        draft.confidence = sure
        return review(draft, tools, enabled(self.settings), trail)


@dataclass
class Prepared:
    """A question made ready for the model (see ``Assistant.prepare``)."""

    question: str
    messages: Messages
    shown: list[Hit]  # passages in the prompt, numbered from 1
    hits: list[Hit]  # everything retrieved
    timings: dict[str, float]
    began: float
    topic: str  # the question with the previous one, for follow-ups
    passages: list[Passage] = field(
        default_factory=list
    )  # ``shown``, dated as the prompt shows them

    def draft(self, reply: str) -> Draft:
        """The record the checks revise, holding the model's ``reply`` to this prompt."""
        return Draft(self.question, self.topic, list(self.passages), reply)


def answer_of(
    draft: Draft, timings: dict[str, float], model: str, likelihood: dict[str, Any]
) -> Answer:
    """The ``Answer`` a checked ``draft`` gives: its answer and citations, or the abstention.
    The model's judgement whether the cited passages answer the question, when it was asked
    (``rag.checks.answers``), is kept beside its other probabilities as ``answers``."""
    if draft.judged is not None:
        likelihood = {**likelihood, "answers": draft.judged}
    if draft.abstained:
        return Answer(
            ABSTAIN_TEXT, True, [], timings, draft.hits, model, draft.confidence, likelihood
        )
    return Answer(
        draft.answer,
        False,
        draft.citations,
        timings,
        draft.hits,
        model,
        draft.confidence,
        likelihood,
    )


def clean_question(question: str, max_chars: int) -> str:
    """The question without control characters; InputError if empty or too long.

    >>> clean_question("  How long?\\x07 ", 100)
    'How long?'
    """
    if not isinstance(question, str):
        raise InputError("The question must be text.")
    question = _CONTROL.sub(" ", question).strip()
    if not question:
        raise InputError("The question is empty: ask something about the documents.")
    if len(question) > max_chars:
        raise InputError(
            f"The question is {len(question):,} characters; the limit is {max_chars:,} "
            "(RAG_MAX_QUESTION_CHARS): shorten it."
        )
    return question


def normalize_history(history: HistoryLike) -> list[Turn]:
    """Turns from ``Turn``s, ``(question, answer)`` pairs or ``{"question", "answer"}`` dicts."""
    turns = []
    for item in history:
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, dict):
            turns.append(Turn(str(item.get("question", "")), str(item.get("answer", ""))))
        else:
            turns.append(Turn(str(item[0]), str(item[1])))
    return [t for t in turns if t.question.strip()]


def decline_rule(settings: Settings) -> Decline | None:
    """When the model may open with NOT FOUND (``RAG_DECLINE_CONFIDENCE``; 0: greedy decides)."""
    sure = settings.decline_confidence
    return Decline(NOT_FOUND, sure) if sure > 0 else None


def load_generator(settings: Settings) -> Generator:
    """The configured generator, loaded once per process and shared."""
    if settings.llm_url:
        return _remote(
            settings.llm_url, settings.model, settings.n_ctx, settings.llm_api_key, settings.parallel
        )
    path, name = resolve_model(settings)
    return _local(str(path), name, settings.n_ctx, settings.n_threads, settings.seed)


@load_once(maxsize=2)
def _local(path: str, name: str, n_ctx: int, threads: int, seed: int) -> Generator:
    return LlamaCppGenerator(path, name, n_ctx, threads, seed)


@load_once(maxsize=2)
def _remote(url: str, model: str, n_ctx: int, key: str, parallel: int) -> Generator:
    return OpenAIGenerator(url, model, n_ctx, key, parallel=parallel)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


__all__: list[Any] = ["Assistant", "ABSTAIN_TEXT"]
