"""Requests about whole documents: routed, read whole (map-reduce when too long), cited."""

from __future__ import annotations

import re

import pytest

from rag.errors import InputError
from rag.generation import ScriptedGenerator
from rag.overview import flowed, in_order
from rag.records import Answer

ARTICLE = "002_9a8e32283f0f2645.txt"


def summariser(messages) -> str:
    """Copies the first sentence of the excerpt it is shown as a numbered list item under a
    heading, and echoes its instruction: the number, the heading and the echo must not reach
    the answer."""
    prompt = messages[-1]["content"]
    body = prompt.split(".)\n", 1)[1]  # after "(From source ...)"
    first = re.split(r"(?<=[.!?])\s", body.strip())[0].rstrip(".")
    return f"Main points:\n1. {first}.\nRequest: {prompt.splitlines()[0]}"


def run(assistant, question, **kw) -> tuple[str, Answer]:
    pieces = list(assistant.stream(question, **kw))
    answer = pieces[-1]
    assert isinstance(answer, Answer)
    return "".join(p for p in pieces[:-1] if isinstance(p, str)), answer


@pytest.fixture
def reader(assistant):
    assistant._generator = ScriptedGenerator(summariser)
    return assistant


def test_a_summary_reads_excerpts_from_every_stretch_of_the_article_in_order(reader):
    streamed, answer = run(reader, f"Summarise {ARTICLE}")
    assert not answer.abstained and streamed
    doc = next(d for d in reader.documents() if d.source == ARTICLE)
    read = answer.passages
    assert {h.source for h in read} == {ARTICLE}
    assert [h.start for h in read] == sorted(h.start for h in read)  # reading order
    chunks = in_order(reader.retriever.chunks_of({ARTICLE}))  # without the overlaps
    end = max(h.end for h in chunks)
    tenths = {min(9, 10 * h.start // end) for h in read}
    assert len(read) == min(10, doc.chunks) and len(tenths) >= 8  # from start to end
    # excerpts are sentences of their chunk, cited as the whole chunk with the sentence marked
    by_id = {h.chunk_id: h for h in chunks}
    for c in answer.citations:
        assert c.source == ARTICLE and c.text == flowed(by_id[c.chunk_id].text) and c.quote and c.quote in c.text
    assert len({c.chunk_id for c in answer.citations}) >= 8


def test_list_numbers_headings_and_the_request_never_reach_the_answer(reader):
    _, answer = run(reader, f"Summarise {ARTICLE}")
    assert "Main points" not in answer.answer and "Request" not in answer.answer
    assert "Shorten" not in answer.answer
    assert not re.search(r"(?:^|[.\]]\s)\d+\.?\s*\[", answer.answer), answer.answer
    sentences = [s for s in re.split(r"(?<=\])\.\s+", answer.answer.strip()) if s]
    assert all(re.search(r"\[\d+\]", s) for s in sentences)  # every sentence cited


def test_code_tables_and_headings_are_never_read_as_claims(assistant, tmp_path):
    doc = tmp_path / "docs" / "addon.md"
    doc.parent.mkdir()
    prose = [
        f"Section {i} explains how the addon loader resolves module number {i} at start up."
        for i in range(40)
    ]
    code = ["```c", "napi_value init(napi_env env, napi_value exports) {", "  return exports;", "}", "```"]
    doc.write_text("\n\n".join(f"## Part {i}\n\n{p}\n\n" + "\n".join(code) for i, p in enumerate(prose)))
    assistant.ingest([doc.parent])
    assistant._generator = ScriptedGenerator(summariser)
    _, answer = run(assistant, "Summarise addon.md")
    shown = assistant._generator.calls[-1][-1]["content"]
    assert "napi_value" not in shown and "## Part" not in shown and "```" not in shown
    assert not answer.abstained and "napi" not in answer.answer


def test_a_long_document_is_read_from_start_to_end_within_a_bounded_reading(assistant, tmp_path):
    from rag.overview import READ_TOKENS

    doc = tmp_path / "docs" / "long.txt"
    doc.parent.mkdir()
    doc.write_text(
        "\n\n".join(
            f"Chapter {i} of the manual describes how the scheduler assigns worker {i} to a queue. "
            f"The scheduler then records the assignment of worker {i} in its journal file."
            for i in range(400)
        )
    )
    assistant.ingest([doc.parent])
    generator = ScriptedGenerator(summariser)
    assistant._generator = generator
    _, answer = run(assistant, "Summarise long.txt")
    prompts = [call[-1]["content"] for call in generator.calls]
    assert len(prompts) == 10  # one short reply per stretch of the document
    shown = sum(generator.count_tokens(p) - generator.count_tokens("Summarise long.txt") for p in prompts)
    assert shown < READ_TOKENS + 10 * 30  # the excerpts and their headers
    workers = [int(w) for w in re.findall(r"worker (\d+) to a queue", "".join(prompts))]
    assert min(workers) < 40 and max(workers) > 360  # from the start to the end
    assert not answer.abstained and len(answer.citations) >= 8


def test_a_list_request_reads_the_chunks_about_what_is_listed(reader):
    _, answer = run(reader, "List every figure the articles give for troop numbers")
    assert len({h.source for h in answer.passages}) > 1


def test_the_document_is_found_by_search_when_not_named(reader):
    _, answer = run(reader, "What are the main points of the article about Bart Gorman's expulsion?")
    assert {h.source for h in answer.passages} == {"003_c08c91fbef48442b.txt"}


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


def test_a_sentence_the_excerpt_does_not_support_gives_way_to_the_excerpts_own(reader):
    reader._generator = ScriptedGenerator("Negotiators signed a peace treaty in Oslo on Tuesday.")
    streamed, answer = run(reader, f"Summarise {ARTICLE}")
    assert "Oslo" not in streamed and "Oslo" not in answer.answer
    assert not answer.abstained and len(answer.citations) >= 8
    for citation in answer.citations:  # each line is a sentence its passage holds, quoted
        assert citation.quote and citation.quote in citation.text


def test_a_list_request_skips_excerpts_the_model_finds_nothing_in(reader):
    reader._generator = ScriptedGenerator("NONE")
    _, answer = run(reader, f"List every treaty in {ARTICLE}")
    assert answer.abstained and answer.answer == "The documents don't say."
