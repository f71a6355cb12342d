"""``rag serve``: the assistant over HTTP, for programs that speak OpenAI's chat API.

- ``POST /v1/chat/completions``: OpenAI-compatible (``stream: true`` gives server-sent
  events as OpenAI clients expect). The reply is the checked answer; the extra ``rag``
  field carries its citations (source, page, span, quote), the abstention and the
  confidence. Only checked text is ever sent: while the model writes, the stream carries
  keep-alive comments, then the answer.
- ``GET /v1/models`` (the presets and the collections), ``POST /v1/search`` (passages),
  ``GET/POST /v1/documents`` (list, upload), ``DELETE /v1/documents/{source}``,
  ``GET /healthz``; the OpenAPI description at ``/docs``.
- Collections: every endpoint takes a ``collection`` (in the body, or a query parameter for
  ``/v1/documents``); a chat request may also name a collection as its ``model``. Without
  one, the server's own (``rag serve --collection``, default ``documents``). A question is
  answered from its collection only.

Safe by default: binds 127.0.0.1 and refuses any other address unless ``RAG_API_KEY`` is
set, which every ``/v1`` request must then present as a bearer token (compared in constant
time). One answer is generated at a time (a CPU model), or ``RAG_PARALLEL`` against a model
server that batches; up to ``RAG_API_QUEUE`` more wait, and a request beyond that is refused
at once with 429 and ``Retry-After``. A client that
disconnects mid-stream stops its generation. Uploads take the file types ``rag ingest``
reads, up to 25 MB each (413 beyond, 415 for another type), one upload indexed at a time.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import tempfile
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from itertools import chain
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from .assistant import Assistant
from .errors import InputError, NoIndexError, RagError
from .records import Answer, Turn
from .settings import Settings
from .uploads import (
    MAX_UPLOAD_BYTES,
    TooLarge,
    add_uploads,
    remove_upload,
    safe_name,
    too_large,
)

RETRY_AFTER_S = 5


class Busy(Exception):
    """The queue of questions is full."""


class Gate:
    """``parallel`` answers at a time, at most ``queue`` more waiting; beyond that, ``Busy``
    at once."""

    def __init__(self, queue: int, parallel: int = 1) -> None:
        self.queue = queue
        self.parallel = parallel
        self._run = threading.BoundedSemaphore(parallel)
        self._count = threading.Lock()
        self._waiting = 0  # running or waiting

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._count:
            if self._waiting >= self.queue + self.parallel:
                raise Busy
            self._waiting += 1
        try:
            with self._run:
                yield
        finally:
            with self._count:
                self._waiting -= 1


class ClosingStream(StreamingResponse):
    """Server-sent events: ``first``, then the rest of ``pieces``, which is closed however
    the response ends. When a client disconnects, Starlette stops reading a generator but
    does not close it: the generation would stay suspended, holding its turn at the gate,
    until the garbage collector happened to find it."""

    def __init__(self, first: str, pieces: Generator[str, None, None]) -> None:
        super().__init__(
            chain([first], pieces),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )
        self.pieces = pieces

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Starlette has waited for the worker thread's step: the generator is idle.
            self.pieces.close()


def loopback(host: str) -> bool:
    """Whether ``host`` is this machine only.

    >>> [loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "192.168.1.4")]
    [True, True, True, False, False]
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_key: str) -> None:
    """InputError when ``host`` reaches beyond this machine and no API key guards it."""
    if not loopback(host) and not api_key:
        raise InputError(
            f"Refusing to serve on {host} without an API key: set RAG_API_KEY (clients send it "
            "as a bearer token), or bind 127.0.0.1."
        )


def build_api(assistant: Assistant, settings: Settings) -> FastAPI:
    """The FastAPI application over ``assistant``."""
    from .models import PRESETS

    gate = Gate(settings.api_queue, settings.parallel)
    writing = threading.Lock()  # one upload or delete indexed at a time
    app = FastAPI(
        title="rag",
        description="Answers from your documents, with the passages that back them.",
        version="1",
    )

    def authorised(request: Request) -> None:
        if not settings.api_key:
            return
        given = request.headers.get("authorization", "")
        expected = f"Bearer {settings.api_key}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "A valid API key is needed: send Authorization: Bearer <key>.")

    def error(status: int, message: str, **headers: str) -> JSONResponse:
        body = {
            "error": {
                "message": message,
                "type": "invalid_request_error" if status < 500 else "server_error",
            }
        }
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RagError)
    async def rag_error(_request: Request, exc: RagError) -> JSONResponse:
        return error(404 if isinstance(exc, NoIndexError) else 400, str(exc))

    def over(name: Any) -> Assistant:
        """The assistant over the collection ``name`` (the server's own when empty)."""
        return assistant.collection(str(name) if name else None)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        try:  # a collection made by its first upload has no documents yet: still healthy
            documents = len(assistant.documents())
        except NoIndexError:
            documents = 0
        return {"status": "ok", "documents": documents}

    @app.get("/v1/models", dependencies=[Depends(authorised)])
    def models() -> dict[str, Any]:
        """The model presets, then the collections (a chat request naming one as its
        ``model`` is answered from it, for clients that only let people pick a model)."""
        presets = [
            {"id": name, "object": "model", "owned_by": "rag", "kind": "preset"} for name in PRESETS
        ]
        named = [
            {"id": name, "object": "model", "owned_by": "rag", "kind": "collection"}
            for name in assistant.collections()
        ]
        return {"object": "list", "data": presets + named}

    @app.post("/v1/search", dependencies=[Depends(authorised)])
    def search(body: dict[str, Any]) -> Any:
        query = str(body.get("query", ""))
        k = int(body.get("k", 5))
        if not query.strip():
            return error(400, 'Give a query: {"query": "...", "k": 5}.')
        hits = over(body.get("collection")).retriever.search(query, k=k)
        return {"hits": [asdict(h) for h in hits]}

    @app.get("/v1/documents", dependencies=[Depends(authorised)])
    def documents(collection: str | None = None) -> dict[str, Any]:
        return {"documents": [asdict(d) for d in over(collection).documents()]}

    @app.post("/v1/documents", dependencies=[Depends(authorised)])
    def upload(
        request: Request, file: list[UploadFile], collection: str | None = Query(None)
    ) -> Any:
        """Add files (multipart field ``file``, repeatable) to the collection and index them."""
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_UPLOAD_BYTES * len(file) + 64 * 1024:
            return error(413, str(too_large("The upload", length)))
        target = over(collection)
        with tempfile.TemporaryDirectory() as folder:
            received: list[tuple[Path, str]] = []
            for part in file:
                name = part.filename or ""
                try:
                    safe_name(name)  # the type, before reading the body
                    received.append((_receive(part, Path(folder) / str(len(received))), name))
                except InputError as exc:
                    return error(413 if isinstance(exc, TooLarge) else 415, str(exc))
            with writing:
                added = add_uploads(target, received)
        report = added.report.to_dict() if added.report is not None else None
        return {"saved": added.saved, "refused": added.refused, "report": report}

    @app.delete("/v1/documents/{source}", dependencies=[Depends(authorised)])
    def delete(source: str, collection: str | None = None) -> Any:
        target = over(collection)
        with writing:
            removed = target.delete(source)
            remove_upload(target.settings.uploads, removed)
        if not removed:
            return error(404, f"No document named {source} is in the index.")
        return {"deleted": source, "paths": removed}

    @app.post("/v1/chat/completions", dependencies=[Depends(authorised)])
    def chat(body: dict[str, Any]) -> Any:
        try:
            question, history = conversation(body.get("messages"))
        except InputError as exc:
            return error(400, str(exc))
        documents = body.get("documents") or None
        model = str(body.get("model") or settings.model)
        try:
            target = over(body.get("collection") or named_collection(model))
        except RagError as exc:
            return error(400, str(exc))
        if not body.get("stream"):
            try:
                with gate.turn():
                    answer = target.ask(question, history, documents=documents)
            except Busy:
                return busy()
            except RagError as exc:
                return error(400, str(exc))
            return completion(answer, model)
        try:
            pieces = streamed(target, question, history, documents, model)
            first = next(pieces)  # queue full or a bad question: an error, not a stream
        except Busy:
            return busy()
        except RagError as exc:
            return error(400, str(exc))
        return ClosingStream(first, pieces)

    def busy() -> JSONResponse:
        return error(
            429,
            f"Busy: {gate.queue} questions are already waiting; try again shortly.",
            **{"Retry-After": str(RETRY_AFTER_S)},
        )

    def named_collection(model: str) -> str | None:
        """``model`` when it names a collection rather than a model preset."""
        if model in PRESETS or model == settings.model:
            return None
        return model if model in assistant.collections() else None

    def streamed(
        target: Assistant,
        question: str,
        history: list[Turn],
        documents: list[str] | None,
        model: str,
    ) -> Generator[str, None, None]:
        with gate.turn():
            ident, created = _ident(), int(time.time())
            pieces = target.stream(question, history, documents=documents)
            yield _event(_chunk(ident, created, model, {"role": "assistant"}))
            answer = None
            try:
                for piece in pieces:
                    if isinstance(piece, Answer):
                        answer = piece
                    else:
                        yield ": the model is writing\n\n"  # a client gone stops it here
            finally:
                pieces.close()  # type: ignore[attr-defined]  # a generator: stops the model
            assert answer is not None
            yield _event(_chunk(ident, created, model, {"content": answer.answer}))
            final = _chunk(ident, created, model, {}, finish="stop")
            final["rag"] = extra(answer)
            yield _event(final)
            yield "data: [DONE]\n\n"

    return app


def conversation(messages: Any) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the turns before it.

    >>> conversation([{"role": "user", "content": "When?"}, {"role": "assistant", "content": "Friday."}, {"role": "user", "content": "Where?"}])
    ('Where?', [Turn(question='When?', answer='Friday.')])
    """
    if not isinstance(messages, list) or not messages:
        raise InputError('Give messages: [{"role": "user", "content": "your question"}].')
    said = [
        (str(m.get("role", "")), _text(m.get("content"))) for m in messages if isinstance(m, dict)
    ]
    if not said or said[-1][0] != "user" or not said[-1][1].strip():
        raise InputError("The last message must be the user's question.")
    turns: list[Turn] = []
    asked = ""
    for role, text in said[:-1]:
        if role == "user":
            asked = text
        elif role == "assistant" and asked:
            turns.append(Turn(asked, text))
            asked = ""
    return said[-1][1], turns


def _text(content: Any) -> str:
    """A message's text: a string, or OpenAI's list of parts."""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def extra(answer: Answer) -> dict[str, Any]:
    """What the ``rag`` field of a reply carries."""
    return {
        "abstained": answer.abstained,
        "confidence": answer.confidence,
        "citations": [asdict(c) for c in answer.citations],
        "timings_ms": answer.timings_ms,
    }


def completion(answer: Answer, model: str) -> dict[str, Any]:
    return {
        "id": _ident(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "rag": extra(answer),
    }


def _chunk(
    ident: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _ident() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _receive(part: UploadFile, target: Path) -> Path:
    """Copy an upload's body to ``target``, refusing it (InputError) past the size limit."""
    size = 0
    with target.open("wb") as out:
        while block := part.file.read(1024 * 1024):
            size += len(block)
            if size > MAX_UPLOAD_BYTES:
                raise too_large(part.filename or "The file", size)
            out.write(block)
    return target


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the server until interrupted."""
    import uvicorn

    check_exposure(host, settings.api_key)
    assistant = Assistant(settings)
    assistant.warm_up()
    uvicorn.run(build_api(assistant, settings), host=host, port=port, log_level="warning")


__all__ = ["build_api", "check_exposure", "conversation", "serve"]
