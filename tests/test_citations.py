import pytest

from rag.citations import check, markers, says_not_found
from rag.records import Hit


def hit(n: int, text: str, source: str = "") -> Hit:
    return Hit(source or f"doc{n}.txt", f"c{n}", 0.9, text, 0, len(text))


PASSAGES = [
    hit(1, "Blinken told Lavrov ahead of the meeting, which lasted around 90 minutes. This is a critical moment."),
    hit(2, "According to US estimates, Russia is believed to have assembled between 160,000 and 190,000 troops on Ukraine's borders."),
    hit(3, "The Kremlin has massed as many as 100,000 troops on Kyiv's doorstep."),
]


def test_supported_sentence_keeps_its_citation_and_quote():
    c = check("The meeting lasted around 90 minutes [1].", PASSAGES)
    assert not c.abstained
    assert c.text == "The meeting lasted around 90 minutes [1]."
    assert [(x.n, x.source, x.quote) for x in c.citations] == [
        (1, "doc1.txt", "Blinken told Lavrov ahead of the meeting, which lasted around 90 minutes.")
    ]


def test_wrong_citation_is_repointed_to_the_supporting_passage():
    c = check("Russia assembled between 160,000 and 190,000 troops [1].", PASSAGES)
    assert c.text == "Russia assembled between 160,000 and 190,000 troops [2]."
    assert [x.n for x in c.citations] == [2]


def test_missing_citation_is_added_from_the_supporting_passage():
    assert check("It lasted around 90 minutes.", PASSAGES).text == "It lasted around 90 minutes [1]."


def test_unsupported_sentence_is_dropped_and_only_cited_passages_are_returned():
    c = check("The meeting lasted around 90 minutes [1]. Ukraine has 44 million people [2].", PASSAGES)
    assert c.text == "The meeting lasted around 90 minutes [1]."
    assert c.dropped == ["Ukraine has 44 million people."]
    assert [x.n for x in c.citations] == [1]


def test_a_wrong_number_is_not_supported():
    c = check("The Kremlin massed 190,000 troops near Kyiv [3].", PASSAGES)
    assert [x.n for x in c.citations] != [3]


def test_conflicting_sources_are_both_cited():
    c = check(
        "Reports put the troops at as many as 100,000 [3]. Later US estimates said between 160,000 and 190,000 troops [2].",
        PASSAGES,
    )
    assert [x.n for x in c.citations] == [2, 3]


@pytest.mark.parametrize(
    "reply",
    ["NOT FOUND", "NOT FOUND.", "The passages do not mention the population of Ukraine.", "", "[1]", "Ukraine has 44 million people [2]."],
)
def test_replies_without_supported_claims_abstain(reply):
    c = check(reply, PASSAGES)
    assert c.abstained and c.citations == [] and c.text == ""


def test_markers_ignore_out_of_range_numbers():
    assert check("The meeting lasted around 90 minutes [7].", PASSAGES).citations[0].n == 1
    assert markers("a [1][2] b [2, 3]") == [1, 2, 3]
    assert says_not_found("I cannot answer that from the documents.")


def test_a_claim_about_the_wrong_person_is_not_supported():
    passages = [
        hit(1, "Blinken will meet Lavrov next week. Russia denied plans to invade. Blinken told the UN Security Council: I am here today not to start a war, but to prevent one."),
    ]
    c = check("Lavrov told the UN Security Council, 'I am here today not to start a war, but to prevent one.' [1]", passages)
    assert c.abstained


def test_preamble_about_passages_is_removed():
    c = check("According to the first passage, the meeting lasted around 90 minutes.", PASSAGES)
    assert c.text == "The meeting lasted around 90 minutes [1]."


def test_names_from_the_question_are_context_but_the_subject_must_be_supported():
    passages = [hit(1, "Blinken told Lavrov ahead of the meeting, which lasted around 90 minutes.")]
    ok = check("The meeting between Blinken and Lavrov in Geneva lasted around 90 minutes.", passages, "How long did the Geneva meeting last?")
    assert ok.text == "The meeting between Blinken and Lavrov in Geneva lasted around 90 minutes [1]."
    un = [hit(1, "Sergey Lavrov met Blinken. Russia denied it. Blinken told the UN Security Council: I am here not to start a war.")]
    assert check("Lavrov told the UN Security Council: I am here not to start a war.", un, "What did Lavrov tell the UN Security Council?").abstained


def test_a_name_that_only_repeats_the_questions_phrase_is_not_the_subject():
    """The README's first question: "The Geneva meeting lasted ..." repeats the question's
    "Geneva meeting"; the sentence saying 90 minutes need not name Geneva."""
    passages = [
        hit(1, "Blinken told Lavrov ahead of the meeting, which lasted around 90 minutes."),
        hit(2, "Blinken and Lavrov gathered early Friday in Geneva, Switzerland."),
    ]
    c = check("The Geneva meeting lasted around 90 minutes. [1]", passages, "How long did the Geneva meeting last?")
    assert c.text == "The Geneva meeting lasted around 90 minutes [1]."
    # A subject stays a subject when it does something other than the question's phrase.
    told = check("Geneva hosted talks that lasted around 90 minutes. [1]", passages, "How long did the Geneva meeting last?")
    assert told.abstained


def test_a_true_sentence_that_does_not_address_the_question_is_dropped():
    c = check("Russia assembled between 160,000 and 190,000 troops [2].", PASSAGES, "What is the population of Ukraine?")
    assert c.abstained
    follow_up = check("It lasted around 90 minutes [1].", PASSAGES, "When did they meet in Geneva? How long did it last?")
    assert not follow_up.abstained


def test_a_terse_answer_is_kept_when_its_evidence_is_on_topic():
    passages = [hit(1, "The talks were held in Geneva on Friday.")]
    assert check("Geneva [1].", passages, "Where were the talks held?").text == "Geneva [1]."


def test_titles_first_names_and_transliterations_do_not_block_a_supported_quote():
    passages = [hit(1, "Biden said: \"It's one thing if it's a minor incursion.\" Zelenskiy said OSCE monitors should stay.")]
    who = check("President Joe Biden said \"It's one thing if it's a minor incursion\" [1].", passages, "Who said it?")
    assert who.text == "President Joe Biden said \"It's one thing if it's a minor incursion\" [1]."
    spelt = check("Zelenskyy said OSCE monitors should stay [1].", passages, "Which monitors should stay?")
    assert not spelt.abstained
    assert check("OSCE monitors should stay, Scholz said [1].", passages, "Which monitors should stay?").abstained


def test_a_date_resolved_from_a_weekday_is_supported_and_quoted_from_the_original():
    text = "The State Department said Blinken will travel to Kyiv on Wednesday to meet Zelenskyy."
    passage = Hit("a.txt", "c1", 0.9, text, 0, len(text), date="2022-01-18")
    c = check("Blinken was to meet Zelenskyy in Kyiv on January 19 [1].", [passage])
    assert not c.abstained and c.citations[0].quote == text
    assert check("Blinken was to meet Zelenskyy in Kyiv on January 21 [1].", [passage]).abstained


def test_the_year_of_the_article_date_is_supported_and_another_year_is_not():
    text = "CIA Director William Burns visited Kyiv last Wednesday, a U.S. official said."
    passage = Hit("a.txt", "c1", 0.9, text, 0, len(text), date="2022-01-18")
    c = check("William Burns visited Kyiv on January 12, 2022 [1].", [passage])
    assert not c.abstained and c.citations[0].quote == text
    assert check("William Burns visited Kyiv on January 12, 2021 [1].", [passage]).abstained
    undated = Hit("a.txt", "c1", 0.9, text, 0, len(text))
    assert check("William Burns visited Kyiv on January 12, 2022 [1].", [undated]).abstained


def test_a_count_of_something_else_does_not_answer_how_many():
    tanks = check("Russia has massed between 160,000 and 190,000 troops [2].", PASSAGES, "How many tanks has Russia deployed?")
    assert tanks.abstained
    troops = check("Russia has massed between 160,000 and 190,000 troops [2].", PASSAGES, "How many troops has Russia massed?")
    assert not troops.abstained


def test_a_passage_as_the_subject_of_a_sentence_is_taken_out():
    c = check("Passage [1] indicates that the meeting lasted around 90 minutes.", PASSAGES)
    assert c.text == "The meeting lasted around 90 minutes [1]."


def test_two_statements_in_one_sentence_may_each_come_from_their_own_passage():
    dated = hit(4, "Blinken and Lavrov will meet in Geneva on Friday (January 21), officials said.")
    c = check(
        "They met in Geneva on January 21, and the meeting lasted around 90 minutes.",
        [PASSAGES[0], dated],
        "When did Blinken and Lavrov meet in Geneva, and how long did it last?",
    )
    assert c.text == "They met in Geneva on January 21, and the meeting lasted around 90 minutes [2] [1]."
    assert [x.n for x in c.citations] == [1, 2]
    # each statement still needs its own support: a wrong figure drops the whole sentence
    wrong = check("They met in Geneva on January 21, and the meeting lasted 80 minutes.", [PASSAGES[0], dated])
    assert wrong.abstained


def test_a_country_may_be_the_subject_under_another_of_its_names():
    """Capital, demonym and name stand for one another (countryinfo's data); another
    country's name does not."""
    passages = [hit(1, "Officials from the United States and Ukraine blamed Russia-backed separatists for the shelling.")]
    question = "Who did American officials blame for the shelling?"
    kept = check("American officials blamed Russia-backed separatists for the shelling [1].", passages, question)
    assert kept.text == "American officials blamed Russia-backed separatists for the shelling [1]."
    moscow = check("Moscow has assembled between 160,000 and 190,000 troops [2].", PASSAGES)
    assert moscow.text == "Moscow has assembled between 160,000 and 190,000 troops [2]."  # "Russia is believed to ..."
    assert check("Polish officials blamed Russia-backed separatists for the shelling [1].", passages, question).abstained


def test_words_the_question_supplies_do_not_count_against_an_answer_that_restates_it():
    passages = [hit(1, "Russia has brushed off calls to withdraw its troops by saying it has a right to deploy its forces wherever it likes on its own territory.")]
    question = "Why does Moscow say it won't pull its soldiers back when asked to?"
    restated = "Moscow says it won't pull its soldiers back when asked to because it has a right to deploy its forces wherever it likes on its own territory [1]."
    assert check(restated, passages, question).text == restated
    invented = "Moscow says it won't pull its soldiers back when asked to because NATO threatens its borders [1]."
    assert check(invented, passages, question).abstained


def test_an_uncited_claim_goes_to_the_passage_holding_most_of_its_words_when_the_new_ones_tie():
    passages = [
        hit(1, "In Geneva on Friday, Blinken will be testing Lavrov on a diplomatic off-ramp."),
        hit(2, "Blinken will meet with Lavrov in Geneva on Friday."),
    ]
    c = check("Blinken will meet with Lavrov in Geneva on Friday.", passages, "Where did Blinken and Lavrov meet?")
    assert c.text == "Blinken will meet with Lavrov in Geneva on Friday [2]."


MANUAL = [
    hit(1, "If you want to configure an editor specifically for Git, you can either set the `core.editor` configuration value or the `GIT_EDITOR` environment variable."),
    hit(2, "You can see what is about to be committed using _git diff_ with the --cached option:\n$ git diff --cached"),
]


def test_an_identifier_the_passage_states_backs_the_sentence_beyond_its_phrasing():
    """Like a figure, a code-like identifier found where it is cited is strong evidence; the
    model's own framing ("to make nano your default editor") need not be found."""
    question = "I'd like nano to open whenever Git asks for a commit message. Which environment variable can do that?"
    reply = "To make nano your default editor for Git commit messages, you can set the `GIT_EDITOR` environment variable to `nano` [1]."
    c = check(reply, MANUAL, question)
    assert not c.abstained and "GIT_EDITOR" in c.text and [x.n for x in c.citations] == [1]


def test_an_identifier_no_passage_states_is_not_backed():
    question = "Which environment variable makes Git open nano for commit messages?"
    c = check("You can set the `NANO_EDITOR` environment variable to configure an editor for Git [1].", MANUAL, question)
    assert c.abstained


def test_an_identifier_the_question_gives_need_not_be_found_again():
    question = "What does `journal_size_limit` limit?"
    passages = [hit(1, "The journal size limit caps the size of the journal file left behind after a transaction.")]
    c = check("The `journal_size_limit` pragma caps the size of the journal file left behind [1].", passages, question)
    assert not c.abstained


def test_a_name_the_passage_writes_in_lower_case_is_found():
    question = "In Git, what shows me the changes about to be committed?"
    reply = "In Git, you can see what is about to be committed using `git diff --cached` with the --cached option [2]."
    c = check(reply, MANUAL, question)
    assert not c.abstained and "git diff --cached" in c.text


def test_how_many_needs_no_echo_of_how_many():
    """A count answers "how many" without the word "many": the question's asking words are
    not its topic."""
    p = "Of the 129 members, 73 are elected to represent constituencies."
    checked = check("There are 129 members. [1]", [Hit("a", "c", 1, p, 0, len(p))], "How many members are there?")
    assert checked.text == "There are 129 members [1]."


def test_a_name_is_found_in_its_plural():
    p = 'The name "Normans" comes from Old Norse, to mean "Norseman, Viking". Later they settled.'
    q = "What is the original meaning of the word Norman?"
    reply = 'The original meaning of the word Norman was "Norseman, Viking".'
    checked = check(reply, [Hit("a", "c", 1, p, 0, len(p))], q)
    assert not checked.abstained and checked.citations[0].n == 1


def test_the_questions_own_figure_must_be_where_the_answer_is_cited():
    """"The winner in 2019 is X" from a passage about 2018 is not an answer: the year the
    question asks about places it."""
    p = "Tua Tagovailoa of Alabama won the Maxwell Award in 2018."
    q = "Who is the Maxwell Award winner in 2019?"
    hit = [Hit("a", "c", 1, p, 0, len(p))]
    assert check("The Maxwell Award winner in 2019 is Tua Tagovailoa [1].", hit, q).abstained


def test_a_name_alone_is_enough_to_judge_what_an_answer_adds():
    p = "Researchers should use a reference manager of some sort, such as Zotero."
    q = "Which reference manager do the authors name?"
    hit = [Hit("a", "c", 1, p, 0, len(p))]
    assert check("The authors name Zotero.", hit, q).text == "The authors name Zotero [1]."
    assert check("The authors name Mendeley.", hit, q).abstained
