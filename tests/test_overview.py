"""Requests about whole documents: routed, read whole (map-reduce when too long), cited."""

from __future__ import annotations

import re

import pytest

from rag.errors import InputError
from rag.generation import ScriptedGenerator
from rag.records import Answer

ARTICLE = "002_9a8e32283f0f2645.txt"


def summariser(messages) -> str:
    """Copies the first sentence of the first three passages it is shown, citing each; as
    notes of a part, or, given notes, copies them back."""
    prompt = messages[-1]["content"]
    if "Notes on part" in prompt:
        notes = re.findall(r"Notes on part \d+:\n(.+)", prompt)
        return " ".join(notes)
    out = []
    for n, body in re.findall(r"Passage \[(\d+)\][^\n]*:\n([^\n]+)", prompt)[:3]:
        first = re.split(r"(?<=[.!?])\s", body.strip())[0].rstrip(".")
        out.append(f"{first} [{n}].")
    return " ".join(out)


def run(assistant, question, **kw) -> tuple[str, Answer]:
    pieces = list(assistant.stream(question, **kw))
    answer = pieces[-1]
    assert isinstance(answer, Answer)
    return "".join(p for p in pieces[:-1] if isinstance(p, str)), answer


@pytest.fixture
def reader(assistant):
    assistant._generator = ScriptedGenerator(summariser)
    return assistant


def test_a_summary_of_a_named_article_reads_it_whole_and_cites_three_passages(reader):
    streamed, answer = run(reader, f"Summarise {ARTICLE}")
    assert not answer.abstained and streamed
    assert {c.source for c in answer.citations} == {ARTICLE}
    assert len({c.chunk_id for c in answer.citations}) >= 3
    chunks = [h for h in answer.passages]
    assert {h.source for h in chunks} == {ARTICLE}
    assert [h.index for h in chunks] == sorted(h.index for h in chunks)  # reading order
    assert len(chunks) == next(d.chunks for d in reader.documents() if d.source == ARTICLE)


def test_the_document_is_found_by_search_when_not_named(reader):
    _, answer = run(reader, "What are the main points of the article about Bart Gorman's expulsion?")
    assert {h.source for h in answer.passages} == {"003_c08c91fbef48442b.txt"}


def test_a_request_over_articles_in_the_plural_reads_several(reader):
    _, answer = run(reader, "List every figure the articles give for troop numbers")
    assert len({h.source for h in answer.passages}) > 1


def test_documents_that_do_not_fit_are_read_in_parts_then_combined(reader):
    reader._generator = ScriptedGenerator(summariser, n_ctx=900)
    _, answer = run(reader, f"Summarise {ARTICLE}")
    calls = reader._generator.calls
    assert len(calls) >= 3 and "Notes on part" in calls[-1][-1]["content"]
    assert not answer.abstained and len({c.chunk_id for c in answer.citations}) >= 3


def test_an_invented_sentence_in_a_summary_is_dropped(reader):
    def inventing(messages):
        return summariser(messages) + " The talks ended with a peace treaty signed in Oslo [1]."

    reader._generator = ScriptedGenerator(inventing)
    _, answer = run(reader, f"Summarise {ARTICLE}")
    assert "Oslo" not in answer.answer and len(answer.citations) >= 3


def test_questions_can_be_limited_to_chosen_documents(reader):
    reader._generator = ScriptedGenerator(
        lambda m: re.findall(r"Passage \[1\][^\n]*:\n([^.]+)", m[-1]["content"])[0] + " [1]."
    )
    _, answer = run(reader, "How long did the meeting last?", documents=[ARTICLE])
    assert answer.passages and {h.source for h in answer.passages} == {ARTICLE}
    with pytest.raises(InputError, match="No document named nope.txt is in the index"):
        run(reader, "How long did the meeting last?", documents=["nope.txt"])
