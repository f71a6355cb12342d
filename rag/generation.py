"""Text generators: llama.cpp in-process, an OpenAI-compatible server, and a scripted fake.

A generator has a ``name``, a context size ``n_ctx``, ``count_tokens(text)`` with the model's
own tokenizer (so prompts are budgeted exactly) and one main method,
``stream(messages, max_tokens) -> Iterator[str]``. Decoding is greedy (temperature 0, fixed
seed) so answers are reproducible. One model serves one request at a time: concurrent callers
queue on a lock rather than interleave.

``stream(..., decline=Decline("NOT FOUND", 0.5))`` lets the model open with the declining
reply only when it gives that reply at least that probability; otherwise its first word must
be something else (llama.cpp only; a remote server decodes as it likes). Greedy decoding
declines whenever "NOT" is the single most likely first token, often at 30-40 % with the
answer in front of it (docs/experiments.md); an attempted answer still has to pass the checker.

``yes_probability(messages)`` reads a yes/no question's answer from the model's first step
without generating: the probability it gives "yes" against "no" (None where the model's
probabilities cannot be seen). A judgement costs reading a prompt, not writing a reply.
"""

from __future__ import annotations

import atexit
import json
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import ModelError

Messages = list[dict[str, str]]

# Tokens the chat template adds around each message (role markers, separators); counted
# generously so the budget errs on the safe side.
TEMPLATE_TOKENS_PER_MESSAGE = 8


@dataclass(frozen=True)
class Decline:
    """The reply that declines to answer, and the probability the model must give it as its
    first word for that word to be allowed."""

    text: str
    min_probability: float


@dataclass
class Likelihood:
    """The model's own probabilities for a reply, filled in by ``stream`` as it generates:
    ``decline``, the probability it gave the declining reply's first word at the first
    step (before any bar), and ``tokens``, the probability it gave each token it wrote.
    Both stay empty where a generator cannot see its model's probabilities."""

    decline: float | None = None
    tokens: list[float] = field(default_factory=list)


class Generator(Protocol):
    name: str
    n_ctx: int

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self,
        messages: Messages,
        max_tokens: int,
        decline: Decline | None = None,
        likelihood: Likelihood | None = None,
    ) -> Iterator[str]: ...


def messages_tokens(generator: Generator, messages: Messages) -> int:
    """Tokens a chat prompt takes, template overhead included."""
    return (
        sum(generator.count_tokens(m["content"]) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages)
        + TEMPLATE_TOKENS_PER_MESSAGE
    )


class LlamaCppGenerator:
    """A GGUF model run in-process by llama-cpp-python."""

    def __init__(
        self, model_path: str, name: str, n_ctx: int = 4096, n_threads: int = 2, seed: int = 0
    ) -> None:
        from llama_cpp import Llama

        load_cpu_backend()
        self.name = name
        self.n_ctx = n_ctx
        self._lock = threading.Lock()
        self.decline_probability: float | None = None  # at the last ``decline`` check
        # How much of the last prompt llama.cpp may keep (``_read``): "turns" (whole messages:
        # the same prompt gives the same reply and probabilities whatever came before, and the
        # shared system prompt is not read twice), "any" (llama.cpp's own reuse: the rest of a
        # prompt read in one batch, which rounds differently, so a reply depends on the one
        # before it) or "none" (every prompt read whole: exact too, about 1.8x slower).
        self.prompt_reuse = "turns"
        self._reading_prompt = False
        self._prompt_end = 0
        self._openings: dict[str, list[int]] = {}  # ``_opening_tokens``, per declining text
        self._yes_no: tuple[list[int], list[int]] | None = None  # ``_answer_tokens``
        try:
            self._llm = Llama(
                model_path=model_path,
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=512,
                flash_attn=True,  # about 5 % faster prompt reading on 2 cores (docs/experiments.md)
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"llama.cpp could not load {model_path} ({exc}): the file may be corrupt; "
                "run `rag models` to verify it."
            ) from None
        self._eval = self._llm.eval
        self._llm.eval = self._read  # type: ignore[method-assign]
        # Free the model before the interpreter tears its modules down: left to Llama.__del__
        # at exit, llama.cpp's bindings may already be gone ("Exception ignored in ...").
        atexit.register(_close, weakref.ref(self._llm))

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(
        self,
        messages: Messages,
        max_tokens: int,
        decline: Decline | None = None,
        likelihood: Likelihood | None = None,
    ) -> Iterator[str]:
        with self._lock:
            watch = decline is not None or likelihood is not None
            pieces = self._complete(
                messages, max_tokens, self.decline_processor(decline, likelihood) if watch else None
            )
            for piece in pieces:
                choice: Any = piece["choices"][0]  # type: ignore[index]
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield str(text)

    def _complete(self, messages: Messages, max_tokens: int, processor: Any) -> Iterator[Any]:
        """llama.cpp's streamed chat completion, greedy, the prompt read in whole messages
        (``_read``); the caller holds the lock."""
        if self.prompt_reuse == "none":
            self._llm.reset()
        self._reading_prompt = True
        return self._llm.create_chat_completion(  # type: ignore[return-value]
            messages=messages,  # type: ignore[arg-type]
            temperature=0.0,
            top_k=1,
            max_tokens=max_tokens,
            stream=True,
            logits_processor=processor,
        )

    def _read(self, tokens: Any) -> None:
        """llama.cpp's ``eval``, reading a prompt in whole messages.

        Left alone, llama.cpp keeps the start of the prompt it still holds from the previous
        call and reads only the rest in one batch. Numbers computed in other batches round
        differently, so the probabilities (the confidence the abstention rests on) and at
        times the reply would depend on what was asked before. Here a prompt is always read
        in the same pieces, cut after each end-of-message token (then ``n_batch`` at most), and
        only whole pieces of the previous prompt are kept: the same prompt gives the same
        numbers whatever came before, and the shared system prompt is still not read again
        (experiments/prompt_reuse.py).
        """
        llm = self._llm
        if self.prompt_reuse == "any":
            self._reading_prompt, self._prompt_end = False, 0  # nothing read here is canonical
        if not self._reading_prompt:
            self._eval(tokens)  # a generated token, or llama.cpp's own reuse
            return
        self._reading_prompt = False
        start = int(llm.n_tokens)
        prompt = [int(t) for t in llm.input_ids[:start]] + [int(t) for t in tokens]
        ends = {llm.token_eos(), llm._model.token_eot()} - {-1}  # end of a message
        cuts = [i + 1 for i, t in enumerate(prompt) if t in ends and i + 1 < len(prompt)]
        kept = max((c for c in cuts if c <= min(start, self._prompt_end)), default=0)
        llm.n_tokens = kept
        for begin, end in zip(
            [kept, *(c for c in cuts if c > kept)],
            [*(c for c in cuts if c > kept), len(prompt)],
            strict=True,
        ):
            self._eval(prompt[begin:end])
        self._prompt_end = len(prompt)

    def decline_processor(
        self, decline: Decline | None, likelihood: Likelihood | None = None
    ) -> Any:
        """A logits processor that bars the tokens starting ``decline.text`` at the first
        step when the model gives them less than ``decline.min_probability`` together, and
        records in ``likelihood`` that probability and, at every step, the probability the
        model gave the token greedy decoding then takes."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        barred = self._opening_tokens(decline.text if decline else NOT_FOUND_TEXT)
        first = [True]

        def processor(_input_ids: Any, scores: Any) -> Any:
            if not first[0] and likelihood is None:
                return scores  # only the first step matters: no softmax over the vocabulary
            shifted = np.exp(scores - scores.max())
            total = shifted.sum()
            if first[0]:
                first[0] = False
                self.decline_probability = float(shifted[barred].sum() / total)
                if likelihood is not None:
                    likelihood.decline = round(self.decline_probability, 4)
                if decline and self.decline_probability < decline.min_probability:
                    scores[barred] = -np.inf
            if likelihood is not None:
                likelihood.tokens.append(round(float(shifted[int(scores.argmax())] / total), 4))
            return scores

        return LogitsProcessorList([processor])

    def yes_probability(self, messages: Messages) -> float | None:
        """P(yes) / (P(yes) + P(no)) at the first step of the reply to ``messages``, over
        every single-token spelling of either word (yes, Yes, " YES", ...)."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        yes, no = self._answer_tokens()
        seen: list[float] = []

        def processor(_input_ids: Any, scores: Any) -> Any:
            if not seen:
                shifted = np.exp(scores - scores.max())
                seen.extend([float(shifted[yes].sum()), float(shifted[no].sum())])
            return scores

        with self._lock:
            for _ in self._complete(messages, 1, LogitsProcessorList([processor])):
                pass
        return _share(seen)

    def _answer_tokens(self) -> tuple[list[int], list[int]]:
        """The single tokens spelling yes and no, in any case, with or without a space."""
        if self._yes_no is None:
            yes, no = ([w, w.capitalize(), w.upper()] for w in ("yes", "no"))
            self._yes_no = self._single_tokens(yes), self._single_tokens(no)
        return self._yes_no

    def _single_tokens(self, words: list[str]) -> list[int]:
        """The words that are one token, with and without a leading space, as token ids."""
        found = set()
        for word in words:
            for piece in (word, " " + word):
                tokens = self._llm.tokenize(piece.encode("utf-8"), add_bos=False, special=False)
                if len(tokens) == 1:
                    found.add(tokens[0])
        return sorted(found)

    def _opening_tokens(self, text: str) -> list[int]:
        """Single tokens a reply starting with ``text`` can open with: the first word's
        prefixes of two or more letters, with and without a leading space ("NO", " NOT")."""
        if text not in self._openings:
            head = text.split()[0]
            self._openings[text] = self._single_tokens([head[:i] for i in range(2, len(head) + 1)])
        return self._openings[text]


NOT_FOUND_TEXT = "NOT FOUND"  # the declining reply the prompts ask for (rag.prompting)
_BACKEND_LOCK = threading.Lock()


def load_cpu_backend() -> None:
    """Register llama.cpp's CPU backend before the first model loads.

    The project's default build (``.ci/build-llama.sh``, variant ``dispatch``) ships every CPU
    variant of the backend as ``libggml-cpu-<cpu>.so`` beside the other libraries, and each
    variant scores itself against the CPU it runs on; ggml loads the best. ggml itself would
    look for them beside the Python executable, so they are pointed to here, through the very
    ``libggml`` that ``libllama`` uses (found by its soname: the package also holds a second
    copy under another file name, whose registry llama.cpp would never see). Static builds
    carry their single backend inside ``libggml`` and need nothing.
    """
    import ctypes
    import os
    import re

    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    lib = Path(str(llama_cpp.__file__)).parent / "lib"
    with _BACKEND_LOCK:
        if not any(lib.glob("libggml-cpu-*.so")):
            return
        sonames = sorted(p.name for p in lib.iterdir() if re.fullmatch(r"libggml\.so\.\d+", p.name))
        ggml = ctypes.CDLL(sonames[0] if sonames else str(lib / "libggml.so"), mode=os.RTLD_NOLOAD)
        ggml.ggml_backend_reg_count.restype = ctypes.c_size_t
        if ggml.ggml_backend_reg_count() == 0:
            ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
            with suppress_stdout_stderr(disable=False):  # "load_backend: loaded CPU backend ..."
                ggml.ggml_backend_load_all_from_path(str(lib).encode())
        if ggml.ggml_backend_reg_count() == 0:
            raise ModelError(
                f"llama.cpp found no CPU backend in {lib} that runs on this CPU: run `make llama`."
            )


def llama_system_info() -> str:
    """llama.cpp's line on the CPU features its loaded backend uses ("AVX2 = 1 | ...")."""
    import llama_cpp

    load_cpu_backend()
    return bytes(llama_cpp.llama_print_system_info()).decode("utf-8", "replace").strip()


def _close(llm: weakref.ref[Any]) -> None:
    model = llm()
    if model is not None:
        model.close()


class OpenAIGenerator:
    """Any OpenAI-compatible chat server (llama.cpp server, vLLM, ...), streamed over SSE.

    The server's tokenizer is not reachable through the OpenAI API, so prompts are budgeted
    with tiktoken's cl100k_base plus a 25 % margin. At most ``parallel`` requests are in
    flight at once from this process, whoever makes them (the chat, ``rag serve``, MCP, the
    checks of an answer): the server's slots, never more.
    """

    def __init__(
        self, base_url: str, model: str, n_ctx: int, api_key: str = "", *, parallel: int = 1
    ) -> None:
        import httpx

        self.name = model
        self.parallel = parallel
        self._slots = threading.BoundedSemaphore(parallel)
        self.n_ctx = n_ctx
        self._url = base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(300.0, connect=5.0))

    def count_tokens(self, text: str) -> int:
        from .chunking import count_tokens

        return int(count_tokens(text) * 1.25) + 1

    def stream(
        self,
        messages: Messages,
        max_tokens: int,
        decline: Decline | None = None,
        likelihood: Likelihood | None = None,
    ) -> Iterator[str]:
        import httpx

        body: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "temperature": 0.0,
            "max_tokens": max_tokens,
            "seed": 0,
            "stream": True,
        }
        if likelihood is not None:
            body["logprobs"] = True  # servers that support it send each token's log-probability
        try:
            with self._slots, self._client.stream("POST", self._url, json=body) as response:
                if response.status_code != 200:
                    response.read()
                    hint = " (does RAG_LLM_URL end in /v1?)" if response.status_code == 404 else ""
                    raise ModelError(
                        f"The model server at {self._url} answered {response.status_code}{hint}: "
                        f"{' '.join(response.text.split())[:200]}"
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choices = json.loads(data).get("choices") or [{}]
                    if likelihood is not None:
                        likelihood.tokens += token_probabilities(choices[0])
                    text = (choices[0].get("delta") or {}).get("content")
                    if text:
                        yield text
        except httpx.HTTPError as exc:
            raise ModelError(
                f"Cannot reach the model server at {self._url} ({exc}): check RAG_LLM_URL."
            ) from None

    def yes_probability(self, messages: Messages) -> float | None:
        """P(yes) against P(no) from the server's top log-probabilities of the first token,
        or None when it sends none (not every server does)."""
        import math

        import httpx

        body = {
            "model": self.name, "messages": messages, "temperature": 0.0, "max_tokens": 1,
            "seed": 0, "logprobs": True, "top_logprobs": 20,
        }  # fmt: skip
        try:
            with self._slots:
                response = self._client.post(self._url, json=body)
            choice = (response.json().get("choices") or [{}])[0]
        except (httpx.HTTPError, ValueError):
            return None  # the judgement is optional: the answer stands on its other checks
        content = (choice.get("logprobs") or {}).get("content") or [{}]
        seen = [0.0, 0.0]
        for top in content[0].get("top_logprobs") or []:
            word = str(top.get("token", "")).strip().lower()
            if word in ("yes", "no"):
                seen[word == "no"] += math.exp(float(top["logprob"]))
        return _share(seen)


def _share(seen: list[float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) from ``[P(yes), P(no)]``; None when neither was seen."""
    if len(seen) != 2 or seen[0] + seen[1] <= 0.0:
        return None
    return round(seen[0] / (seen[0] + seen[1]), 4)


def token_probabilities(choice: dict[str, Any]) -> list[float]:
    """The probabilities of the tokens in one streamed OpenAI ``choice`` (``logprobs``).

    >>> token_probabilities({"logprobs": {"content": [{"token": "A", "logprob": 0.0}]}})
    [1.0]
    >>> token_probabilities({"delta": {"content": "A"}})
    []
    """
    import math

    content = (choice.get("logprobs") or {}).get("content") or []
    return [round(math.exp(float(t["logprob"])), 4) for t in content if "logprob" in t]


class ScriptedGenerator:
    """A fake model for tests: ``script(messages) -> reply``, streamed word by word.

    Tokens are counted as whitespace-separated words, so budgets are exact and predictable.

    >>> g = ScriptedGenerator(lambda messages: "It lasted 90 minutes [1].")
    >>> "".join(g.stream([{"role": "user", "content": "?"}], 50))
    'It lasted 90 minutes [1].'
    """

    def __init__(
        self,
        script: Callable[[Messages], str] | str = "",
        n_ctx: int = 4096,
        name: str = "scripted",
        likelihood: Likelihood | None = None,
        yes: Callable[[Messages], float | None] | float | None = None,
    ) -> None:
        self._script = script if callable(script) else (lambda _messages: script)
        self._likelihood = likelihood  # what every reply reports, when given
        self._yes = yes if callable(yes) else (lambda _messages: yes)  # ``yes_probability``
        self.n_ctx = n_ctx
        self.name = name
        self.calls: list[Messages] = []
        self.declines: list[Decline | None] = []  # what each call allowed (see ``Decline``)
        self.judged: list[Messages] = []  # the prompts ``yes_probability`` was asked

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(
        self,
        messages: Messages,
        max_tokens: int,
        decline: Decline | None = None,
        likelihood: Likelihood | None = None,
    ) -> Iterator[str]:
        self.calls.append(messages)
        self.declines.append(decline)
        if likelihood is not None and self._likelihood is not None:
            likelihood.decline = self._likelihood.decline
            likelihood.tokens[:] = self._likelihood.tokens
        words = self._script(messages).split(" ")
        for i, word in enumerate(words[:max_tokens]):
            yield word if i == 0 else " " + word

    def yes_probability(self, messages: Messages) -> float | None:
        self.judged.append(messages)
        return self._yes(messages)
