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


def test_the_sentence_after_the_best_ones_is_shown_too():
    """The answer often follows the sentence that matches the question: a command after the
    line that introduces it. Only the ``follow`` best sentences bring their next one."""
    embedder = HashEmbedder()
    text = (
        "To convert a database to WAL mode, use the following pragma:\n"
        "PRAGMA journal_mode=WAL;\n"
        "Older readers are unaffected. A checkpoint runs later."
    )
    question = embedder.embed(["To convert a database to WAL mode, use the following pragma:"])[0]
    plain = focus(question, [hit(1, text)], embedder, max_sentences=1)[0].text
    followed = focus(question, [hit(1, text)], embedder, max_sentences=1, follow=1)[0].text
    assert plain == "To convert a database to WAL mode, use the following pragma:"
    assert followed == plain + " PRAGMA journal_mode=WAL;"
    last = embedder.embed(["A checkpoint runs later."])[0]  # nothing after the last sentence
    assert focus(last, [hit(1, text)], embedder, max_sentences=1, follow=1)[0].text == "A checkpoint runs later."


class BatchSensitiveEmbedder(CountingEmbedder):
    """Vectors whose last digits depend on the batch, as a real model's do (the padding and the
    number of texts change how the matrices are split)."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [[x + 1e-3 * len(texts) for x in v] for v in super().embed(texts)]


def test_the_same_passages_again_are_not_embedded_again():
    embedder = CountingEmbedder()
    hits = [hit(1, SHARED + " He meets Zelenskyy."), hit(2, "Then Berlin follows. Talks end.")]
    question = HashEmbedder().embed(["Blinken travel Kyiv"])[0]
    first = focus(question, hits, embedder, max_sentences=3)
    assert len(embedder.embedded) == 4
    assert focus(question, hits, embedder, max_sentences=3) == first
    assert len(embedder.embedded) == 4  # the same question asked twice embeds nothing new


def test_what_was_asked_before_does_not_change_the_sentences_scores():
    """Sentences shared with an earlier question are embedded again with their own request's
    texts, so a question ranks its sentences as it would first thing in a new process."""
    question = HashEmbedder().embed(["Blinken travel Kyiv"])[0]
    earlier = [hit(1, SHARED + " He meets Zelenskyy."), hit(2, "Then Berlin follows. Talks end.")]
    later = [hit(2, "Then Berlin follows. Talks end."), hit(3, SHARED)]
    alone = focus(question, later, BatchSensitiveEmbedder(), max_sentences=3)
    embedder = BatchSensitiveEmbedder()
    focus(question, earlier, embedder, max_sentences=3)
    assert focus(question, later, embedder, max_sentences=3) == alone
