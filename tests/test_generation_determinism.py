"""The model's reply and its own probabilities for a prompt do not depend on what it was asked
before. Left to itself, llama.cpp would reuse the part of the prompt it still holds and read
only the rest, which rounds differently, so a confidence near the abstention threshold could
flip with the previous question (in the chat, over HTTP under load, in an evaluation); the
generator reads and keeps prompts in whole messages instead (``prompt_reuse="turns"``, the
default). Every entry point is checked with the default model in test_real_same_answer.py."""

from __future__ import annotations

import pytest

from rag.generation import Likelihood

pytestmark = pytest.mark.real

SYSTEM = (
    "You answer questions from the passages you are given, citing each passage you use as "
    "[n]. When the passages do not answer the question, reply NOT FOUND."
)
PASSAGE = (
    "[1] Blinken and Lavrov met in Geneva on Friday for talks that lasted around 90 minutes. "
    "Both sides agreed to keep talking, and no breakthrough was announced.\n"
)


def read(generator, question: str, system: str = SYSTEM) -> tuple[str, Likelihood]:
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{PASSAGE}\nQuestion: {question}"},
    ]
    likelihood = Likelihood()
    text = "".join(generator.stream(messages, max_tokens=24, likelihood=likelihood))
    return text, likelihood


def test_a_prompt_reads_the_same_whatever_was_asked_before(small_generator):
    assert small_generator.prompt_reuse == "turns"  # the default
    read(small_generator, "Where did they meet?", system="Answer in French.")  # nothing shared
    first = read(small_generator, "How long did the meeting last?")  # read from the start
    read(small_generator, "Where did they meet?")  # shares the system prompt and passage
    again = read(small_generator, "How long did the meeting last?")
    assert again == first  # the text, the decline probability and every token's probability


def test_the_system_message_read_before_is_kept(small_generator, monkeypatch):
    read(small_generator, "Where did they meet?")
    starts: list[int] = []
    real = small_generator._eval

    def spy(tokens):
        starts.append(int(small_generator._llm.n_tokens))
        real(tokens)

    monkeypatch.setattr(small_generator, "_eval", spy)
    read(small_generator, "How long did the meeting last?")
    system = small_generator.count_tokens(SYSTEM)
    assert system < starts[0] < system + 10  # read from the user's message on
