import pytest

from rag.errors import SettingsError
from rag.generation import ScriptedGenerator, messages_tokens
from rag.prompting import build_messages, load_templates, render
from rag.records import Hit, Turn
from rag.settings import PROJECT_ROOT

TEMPLATES = load_templates(PROJECT_ROOT / "prompts")
COUNT = ScriptedGenerator().count_tokens


def hit(n: int, words: int, date: str = "") -> Hit:
    text = " ".join(f"w{n}" for _ in range(words))
    return Hit(f"doc{n}.txt", f"c{n}", 0.9, text, 0, len(text), date=date)


def test_missing_template_variable_is_an_error():
    with pytest.raises(SettingsError, match="needs a value for 'question'"):
        render("Q: $question")


def test_passages_are_numbered_with_their_weekday_date():
    messages, used = build_messages("When?", [hit(1, 5, "2022-02-18"), hit(2, 5)], [], TEMPLATES, COUNT, 2000)
    user = messages[-1]["content"]
    assert "Passage [1], article dated Friday 2022-02-18:\nw1" in user
    assert "Passage [2]:\nw2" in user
    assert messages[0]["role"] == "system" and "NOT FOUND" in messages[0]["content"]
    assert len(used) == 2


@pytest.mark.parametrize("budget", [300, 600, 1200])
@pytest.mark.parametrize("question_words", [1, 50, 5000])
def test_prompt_never_exceeds_the_budget(budget, question_words):
    question = " ".join(["why"] * question_words)
    passages = [hit(i, 150) for i in range(1, 9)]
    history = [Turn("q " * 100, "a " * 100)] * 5
    messages, used = build_messages(question, passages, history, TEMPLATES, COUNT, budget)
    assert messages_tokens(ScriptedGenerator(), messages) <= budget
    assert len(used) >= 1


def test_history_is_kept_newest_first_within_budget():
    history = [Turn("first question", "first answer"), Turn("second question", "second answer")]
    messages, _ = build_messages("third?", [hit(1, 10)], history, TEMPLATES, COUNT, 2000)
    assert [m["content"] for m in messages[1:5]] == ["first question", "first answer", "second question", "second answer"]
    tight, _ = build_messages("third?", [hit(1, 10)], history, TEMPLATES, COUNT, 140)
    assert "first question" not in [m["content"] for m in tight]


def test_weekdays_in_dated_passages_get_their_calendar_date():
    text = "Blinken will travel to Kyiv on Wednesday. On Monday, Lavrov rejected the claims."
    dated = Hit("a.txt", "c1", 0.9, text, 0, len(text), date="2022-01-18")
    undated = Hit("b.txt", "c2", 0.9, text, 0, len(text))
    messages, _ = build_messages("When?", [dated, undated], [], TEMPLATES, COUNT, 2000)
    user = messages[-1]["content"]
    assert "Kyiv on Wednesday (January 19). On Monday (January 17), Lavrov" in user
    assert user.count("(January") == 2  # the undated article is left as written


def test_a_second_passage_of_the_same_article_points_to_the_first_for_its_date():
    first, other, again = hit(1, 5, "2022-02-18"), hit(2, 5, "2022-01-18"), hit(1, 5, "2022-02-18")
    again = Hit(again.source, "c3", 0.9, "w3 w3", 0, 5, date=again.date)
    messages, _ = build_messages("When?", [first, other, again], [], TEMPLATES, COUNT, 2000)
    user = messages[-1]["content"]
    assert "Passage [1], article dated Friday 2022-02-18:\nw1" in user
    assert "Passage [2], article dated Tuesday 2022-01-18:\nw2" in user
    assert "Passage [3], same article as passage [1]:\nw3 w3" in user
