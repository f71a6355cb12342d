"""The answer path's checks: one record through them, listed in one place, each switchable."""

import ast
import dataclasses
from pathlib import Path

from rag.checks import CHECKS, Tools, enabled, review
from rag.draft import Draft, date_passage, date_passages
from rag.generation import ScriptedGenerator
from rag.prompting import load_templates
from rag.records import Hit
from rag.settings import PROJECT_ROOT, Settings

TEMPLATES = load_templates(PROJECT_ROOT / "prompts")
TEXT = "Blinken will travel to Kyiv on Wednesday. The meeting lasted around 90 minutes."
HIT = Hit("a.txt", "c1", 0.9, TEXT, 0, len(TEXT), date="2022-01-18")


def draft(reply: str) -> Draft:
    return Draft("How long did it last?", "How long did it last?", date_passages([HIT]), reply)


def tools(verdict: str = "yes") -> Tools:
    return Tools(ScriptedGenerator(lambda m: verdict), TEMPLATES)


def test_every_check_has_a_setting_that_turns_it_off():
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert [name for name, _, _ in CHECKS] == [
        "confidence", "support", "answers", "figures", "dates", "conflicts"
    ]
    for name, setting, _ in CHECKS[1:]:
        assert fields[setting] is True or name == "answers"
    check = {name: fn for name, _, fn in CHECKS}
    assert enabled(Settings(min_confidence=0.5, min_answers=0.5)) == [fn for _, _, fn in CHECKS]
    assert enabled(Settings(min_confidence=0.0, verify_figures=False, note_conflicts=False)) == [
        check["support"], check["dates"]
    ]


def test_an_answer_the_model_was_unsure_of_is_an_abstention():
    reply = "The meeting lasted around 90 minutes [1]."
    unsure = draft(reply)
    unsure.confidence = 0.3
    gate = Tools(ScriptedGenerator(), TEMPLATES, min_confidence=0.5)
    assert review(unsure, gate, enabled(Settings(min_confidence=0.5))).abstained
    sure = draft(reply)
    sure.confidence = 0.8
    assert not review(sure, gate, enabled(Settings(min_confidence=0.5))).abstained
    unknown = draft(reply)  # a model whose probabilities are unknown is not gated
    assert not review(unknown, gate, enabled(Settings(min_confidence=0.5))).abstained


def test_the_support_check_drops_what_no_passage_says_and_off_keeps_the_reply_as_written():
    reply = "The meeting lasted around 90 minutes [1]. Ukraine has 44 million people [1]."
    checked = review(draft(reply), tools(), enabled(Settings(note_conflicts=False)))
    assert checked.answer == "The meeting lasted around 90 minutes [1]." and not checked.abstained
    assert checked.citations[0].quote == "The meeting lasted around 90 minutes."
    raw = review(draft(reply), tools(), enabled(Settings(check_support=False, verify_figures=False)))
    assert raw.answer == reply and [c.n for c in raw.citations] == [1]
    assert review(draft("NOT FOUND"), tools(), []).abstained


def test_the_figure_check_asks_the_model_and_off_does_not():
    reply = "It lasted around 80 minutes and 90 minutes [1]."
    generator = ScriptedGenerator(lambda m: "no")
    on = review(draft(reply), Tools(generator, TEMPLATES), enabled(Settings(check_support=False)))
    assert on.abstained and len(generator.calls) == 1
    off = review(draft(reply), Tools(generator, TEMPLATES), enabled(Settings(check_support=False, verify_figures=False)))
    assert off.answer == reply and len(generator.calls) == 1


def test_the_answers_check_asks_whether_the_cited_passages_answer_the_question():
    reply = "The meeting lasted around 90 minutes [1]."
    settings = Settings(min_answers=0.5, verify_figures=False, note_conflicts=False)
    for said, abstained in ((0.2, True), (0.9, False), (None, False)):
        model = ScriptedGenerator(yes=said)
        checked = review(draft(reply), Tools(model, TEMPLATES, min_answers=0.5), enabled(settings))
        assert checked.abstained is abstained and checked.judged == said
        asked = model.judged[0][1]["content"]  # the cited passage and the question, no answer
        assert "Text: Blinken will travel" in asked and "Question: How long did it last?" in asked
    off = ScriptedGenerator(yes=0.0)
    review(draft(reply), Tools(off, TEMPLATES), enabled(Settings(note_conflicts=False)))
    assert off.judged == []  # RAG_MIN_ANSWERS=0: never asked


def test_the_dates_check_dates_a_bare_weekday_and_off_leaves_it():
    reply = "Blinken will travel to Kyiv on Wednesday [1]."
    assert review(draft(reply), tools(), enabled(Settings())).answer == "Blinken will travel to Kyiv on Wednesday (January 19) [1]."
    assert review(draft(reply), tools(), enabled(Settings(date_weekdays=False))).answer == reply


def test_a_passage_is_dated_once_in_every_form_the_checks_read():
    p = date_passage(2, HIT, "Blinken will travel to Kyiv on Wednesday.")
    assert p.shown == "Blinken will travel to Kyiv on Wednesday (January 19)."
    assert p.read == "Blinken will travel to Kyiv on Wednesday (January 19, 2022)."
    assert p.context.startswith(p.read) and p.sentences[1] == ("The meeting lasted around 90 minutes.",) * 2
    assert date_passages([p, HIT])[0] is p  # a dated passage is never dated again


def test_nothing_outside_rag_draft_dates_a_passage():
    """The weekday and year anchoring of ``rag.dates`` is called from one module only."""
    dating = {"anchor_weekdays", "anchor_years", "read_dated"}
    callers = set()
    for path in sorted((PROJECT_ROOT / "rag").glob("*.py")) + sorted((PROJECT_ROOT / "rag_eval").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in dating:
                    callers.add(Path(path).relative_to(PROJECT_ROOT).as_posix())
    assert callers <= {"rag/draft.py", "rag/dates.py"}, callers
