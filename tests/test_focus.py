from rag.embedding import HashEmbedder
from rag.focus import focus
from rag.records import Hit
from tests.conftest import CountingEmbedder

SHARED = "The State Department said Blinken will travel to Kyiv on Wednesday."


def hit(n: int, text: str) -> Hit:
    return Hit(f"doc{n}.txt", f"c{n}", 0.9, text, 0, len(text))


def test_a_sentence_two_passages_share_is_shown_once():
    embedder = HashEmbedder()
    hits = [hit(1, SHARED + " He meets Zelenskyy."), hit(2, SHARED + " Then Berlin follows.")]
    kept = focus(embedder.embed([SHARED])[0], hits, embedder, max_sentences=4)
    shown = " ".join(f.text for f in kept)
    assert shown.count(SHARED) == 1
    assert "Zelenskyy" in shown and "Berlin" in shown  # the freed slot goes to another sentence


def test_who_questions_also_see_the_sentence_that_names_the_speaker():
    embedder = HashEmbedder()
    text = (
        "Talks went on all day. White House press secretary Jen Psaki underscored the urgency. "
        "We are now at a stage where Russia could at any point launch an attack, she said. "
        "Markets fell sharply in Moscow. Oil prices rose again."
    )
    quote = "We are now at a stage where Russia could at any point launch an attack, she said."
    question = embedder.embed([quote])[0]
    plain = focus(question, [hit(1, text)], embedder, max_sentences=1)[0].text
    asked = focus(question, [hit(1, text)], embedder, max_sentences=1, speaker=True)[0].text
    assert plain == quote
    assert asked == "White House press secretary Jen Psaki underscored the urgency. " + quote


def test_sentences_seen_before_are_not_embedded_again_and_rank_the_same():
    embedder = CountingEmbedder()
    hits = [hit(1, SHARED + " He meets Zelenskyy."), hit(2, "Then Berlin follows. Talks end.")]
    question = HashEmbedder().embed(["Blinken travel Kyiv"])[0]
    first = focus(question, hits, embedder, max_sentences=3)
    embedded = len(embedder.embedded)
    later = [hits[1], hit(3, SHARED + " A new sentence.")]
    again = focus(question, later, embedder, max_sentences=3)
    assert embedded == 4
    assert embedder.embedded[embedded:] == ["A new sentence."]  # only what is new is embedded
    assert SHARED in again[0].text and again[0].best == first[0].best  # same vector, same score
