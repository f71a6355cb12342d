from rag.assistant import Assistant
from rag.draft import date_passages
from rag.generation import ScriptedGenerator
from rag.prompting import load_templates
from rag.records import Citation, Hit
from rag.settings import PROJECT_ROOT
from rag.verify import copied, verify_figures

TEMPLATES = load_templates(PROJECT_ROOT / "prompts")
SYSTEM, JUDGE = TEMPLATES.system, TEMPLATES.judge
TEXT = "Moscow has instead added 7,000 more forces near Ukraine."
PASSAGES = date_passages([Hit("a.txt", "c1", 0.9, TEXT, 0, len(TEXT))])
CITATION = Citation(1, "a.txt", "c1", 0, len(TEXT), TEXT, quote=TEXT)


def judge(verdict: str) -> ScriptedGenerator:
    return ScriptedGenerator(lambda messages: verdict)


def test_a_figure_the_judge_rejects_is_dropped_with_its_citation():
    g = judge("No.")
    text, cited = verify_figures("Russia withdrew 7,000 troops [1].", [CITATION], PASSAGES, g, SYSTEM, JUDGE)
    assert (text, cited) == ("", [])
    system, user = g.calls[0]
    assert system == {"role": "system", "content": SYSTEM}  # the cached prefix stays reusable
    assert f"Text: {TEXT}" in user["content"] and "Statement: Russia withdrew 7,000 troops." in user["content"]


def test_sentences_without_numbers_are_not_sent_to_the_judge():
    g = judge("no")
    answer = "Moscow added forces near Ukraine [1]. It added 7,000 of them [1]."
    text, cited = verify_figures(answer, [CITATION], PASSAGES, g, SYSTEM, JUDGE)
    assert text == "Moscow added forces near Ukraine [1]." and cited == [CITATION]
    assert len(g.calls) == 1


def test_a_figure_the_judge_accepts_is_kept():
    text, cited = verify_figures("Moscow added 7,000 forces [1].", [CITATION], PASSAGES, judge("Yes"), SYSTEM, JUDGE)
    assert text == "Moscow added 7,000 forces [1]." and cited == [CITATION]


def test_the_assistant_abstains_when_its_only_figure_is_rejected(settings, embedder, seeds):
    def model(messages):
        return "no" if messages[-1]["content"].endswith("Reply yes or no.") else "The meeting lasted around 90 minutes [1]."

    a = Assistant(
        settings.with_(verify_figures=True, retrieval="bm25", min_relevance=0.05, focus_sentences=6),
        embedder=embedder,
        generator=ScriptedGenerator(model),
    )
    a.ingest([seeds])
    answer = a.ask("How long did the meeting between Blinken and Lavrov in Geneva last?")
    assert answer.abstained and answer.citations == []
    off = Assistant(a.settings.with_(verify_figures=False), embedder=embedder, generator=ScriptedGenerator(model))
    assert not off.ask("How long did the meeting between Blinken and Lavrov in Geneva last?").abstained


def test_a_sentence_copied_word_for_word_from_its_passage_is_not_sent_to_the_judge():
    g = judge("No.")
    answer = "Moscow has instead added 7,000 more forces near Ukraine [1]."
    text, cited = verify_figures(answer, [CITATION], PASSAGES, g, SYSTEM, JUDGE)
    assert text == answer and cited == [CITATION] and g.calls == []


def test_a_copy_counts_the_weekday_dates_the_model_was_shown_but_not_a_short_or_altered_span():
    said = "The White House said Friday that it will act on 3 fronts."
    hit = Hit("b.txt", "c2", 0.9, said, 0, len(said), date="2022-01-18")
    citation = Citation(1, "b.txt", "c2", 0, len(said), said, quote=said)
    copy = "The White House said Friday (January 14) that it will act on 3 fronts [1]."
    assert verify_figures(copy, [citation], date_passages([hit]), judge("no"), SYSTEM, JUDGE)[0] == copy
    for other in ("It acts on 3 fronts [1].", "The White House said Friday that it will act on 4 fronts [1]."):
        g = judge("no")
        assert verify_figures(other, [citation], date_passages([hit]), g, SYSTEM, JUDGE)[0] == ""
        assert len(g.calls) == 1


def test_copied_compares_words_in_order_whatever_the_case_and_punctuation():
    passage = "“We don’t expect to resolve our differences,” Blinken said of the 90-minute meeting."
    assert copied("we don't expect to resolve our differences, Blinken said", passage)
    assert not copied("Blinken said we don't expect to resolve our differences", passage)
    assert not copied("the 90-minute meeting", passage)  # under MIN_COPY_WORDS


def test_a_figure_rejected_for_its_cited_passage_moves_to_another_shown_passage_that_says_it():
    first = "In Geneva on Friday (January 21), Blinken will be testing Lavrov on Russia's interest."
    third = "Blinken will travel to Kyiv, then meet Lavrov in Geneva on Friday (January 21)."
    hits = [Hit("b.txt", f"c{n}", 0.9, t, 0, len(t), date="2022-01-18") for n, t in enumerate((first, TEXT, third), 1)]
    g = ScriptedGenerator(lambda m: "yes" if "then meet Lavrov" in m[-1]["content"] else "no")
    cited = [Citation(1, "b.txt", "c1", 0, len(first), first, date="2022-01-18", quote=first)]
    answer = "Blinken will meet Lavrov in Geneva on January 21 [1]."
    text, kept = verify_figures(answer, cited, date_passages(hits), g, SYSTEM, JUDGE)
    assert text == "Blinken will meet Lavrov in Geneva on January 21 [3]."
    assert [(c.n, c.chunk_id, c.quote) for c in kept] == [(3, "c3", third)]
    assert len(g.calls) == 2  # the cited passage, then the best other one; passage 2 never
    # No other passage backs it (names and figures included): dropped as before.
    g = ScriptedGenerator(lambda m: "no")
    text, kept = verify_figures(answer, cited, date_passages(hits[:2]), g, SYSTEM, JUDGE)
    assert (text, kept, len(g.calls)) == ("", [], 1)
