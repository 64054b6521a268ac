"""Refusal decisions on hand-made answers: the answer-type helpers and the rule checks."""

from __future__ import annotations

import pytest

from core.settings import Settings
from rag.checks import CheckContext, first_failure, rule_checks
from rag.condense import topic_question
from rag.refusal import expected_answer_type, has_answer_type, model_declined
from rag.types import Turn


def refusal_reason(
    raw: str,
    supported: str,
    question: str,
    cited: list[str],
    n_passages: int,
    min_coverage: float,
    topic: str | None = None,
) -> str | None:
    """The first failing rule check for a free answer whose supported text is ``supported``."""
    ctx = CheckContext(
        question=question,
        topic=topic or question,
        raw_answer=raw,
        answer_text=supported,
        cited_texts=cited,
        n_passages=n_passages,
    )
    return first_failure(ctx, rule_checks(Settings(min_question_coverage=min_coverage)))


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many people emerged from Baghuz?", "number"),
        ("How old was the man?", "age"),
        ("At what age did he leave?", "age"),
        ("When did Baghdadi flee?", "date"),
        ("In what year did the offensive start?", "date"),
        ("Who took the photo?", "name"),
        ("Where did he go?", "name"),
        ("What is the name of the reporter?", "name"),
        ("What were the names of the four Britons?", "name"),
        ("Why did Isis overreach?", "any"),
    ],
)
def test_expected_answer_type(question: str, kind: str) -> None:
    assert expected_answer_type(question) == kind


def test_has_answer_type() -> None:
    assert has_answer_type("Up to 50,000 people emerged.", "number")
    assert has_answer_type("Two drones circled.", "number")
    assert not has_answer_type("Just a cripple bent on survival.", "number")
    # "A few dozen" is a number of people, not an age.
    assert has_answer_type("He was down to a few dozen loyalists.", "number")
    assert not has_answer_type("He was down to a few dozen loyalists.", "age")
    assert has_answer_type("said Jumah Hamdi Hamdan, 53,", "age")
    assert has_answer_type("A man in his forties.", "age")
    assert has_answer_type("He fled around January 7.", "date")
    assert not has_answer_type("He fled when the men opened fire.", "date")
    assert has_answer_type("The photo was taken by Delil Souleiman.", "name")
    assert not has_answer_type("the photo was taken by a local man.", "name")


@pytest.mark.parametrize(
    "text",
    [
        "The articles don't say.",
        "The passages do not mention his age.",
        "This is not stated in the text.",
        "I cannot determine that from the passages.",
    ],
)
def test_model_declined(text: str) -> None:
    assert model_declined(text)


def test_model_answer_is_not_a_decline() -> None:
    assert not model_declined("Baghdadi fled to the Syrian desert around January 7 [1].")


PASSAGE = "Baghdadi fled from Baghuz to the Syrian desert around January 7."


def _reason(raw: str, supported: str, question: str, cited: list[str] | None = None, n: int = 3):
    return refusal_reason(raw, supported, question, [PASSAGE] if cited is None else cited, n, 0.6)


def test_supported_on_topic_answer_stands() -> None:
    text = "Baghdadi fled to the Syrian desert around January 7 [1]."
    assert _reason(text, text, "When did Baghdadi flee Baghuz?") is None


def test_reasons() -> None:
    text = "Baghdadi fled to the Syrian desert around January 7 [1]."
    assert _reason(text, text, "When did Baghdadi flee?", n=0) == "no_passages"
    assert _reason("", "", "When did Baghdadi flee?") == "empty"
    assert _reason("The articles don't say.", "", "When did Baghdadi die?") == "model_declined"
    assert _reason("He died in Paris.", "", "Where did Baghdadi die?") == "unsupported"
    # A supported sentence that lacks what the question asks for (a number; the marker is no number).
    assert _reason("He fled to the desert [1].", "He fled to the desert [1].", "How many men fled?") == (
        "wrong_answer_type"
    )
    # Supported, well-typed, but the cited passage is about something else than the question.
    assert _reason(text, text, "When did Baghdadi die of his wounds?") == "off_topic"


def test_follow_up_topic_includes_the_question_it_refers_to() -> None:
    history = [Turn(user="Who is Jumah Hamdi Hamdan?", assistant="A man who left Baghuz [1].")]
    topic = topic_question("How old is he?", history)
    assert topic == "Who is Jumah Hamdi Hamdan? How old is he?"
    passage = "“We were hungry,” said Jumah Hamdi Hamdan, 53, who had walked out of the town."
    text = "He is 53 [1]."
    # The bare follow-up's one content word ("old") is not in the passage ...
    assert refusal_reason(text, text, "How old is he?", [passage], 3, 0.5) == "off_topic"
    # ... but the topic it refers to is; the answer type still comes from the question itself.
    assert refusal_reason(text, text, "How old is he?", [passage], 3, 0.5, topic=topic) is None
    assert refusal_reason("A man [1].", "A man [1].", "How old is he?", [passage], 3, 0.5, topic=topic) == (
        "wrong_answer_type"
    )
    # A question that is not a follow-up is checked as asked.
    assert topic_question("How many people emerged from Baghuz?", history) == (
        "How many people emerged from Baghuz?"
    )


def test_the_answer_type_must_be_in_the_first_sentence() -> None:
    passage = "Baghdadi was down to a few dozen loyalists. The caliphate he proclaimed in 2014 shrank."
    text = "Baghdadi was down to a few dozen loyalists [1]. The caliphate he proclaimed in 2014 shrank [1]."
    # "2014" would pass as an age, but it sits in a second, copied sentence.
    assert refusal_reason(text, text, "How old was Baghdadi?", [passage], 3, 0.5) == "wrong_answer_type"
    assert refusal_reason(text, text, "How many loyalists did Baghdadi have?", [passage], 3, 0.5) is None


def test_the_answer_must_be_new_to_the_question() -> None:
    # The question's own date is no answer to "how many days later".
    asked = "Der Spiegel says the caliphate fell on March 23. How many days later was the photo taken?"
    assert not has_answer_type("The caliphate fell on March 23.", "number", asked)
    assert has_answer_type("The photo was taken on March 24, 2019.", "number", asked)
    # Names the question already holds are not the name it asks for.
    asked = "Who took the photo of alleged Islamic State fighters in Baghuz?"
    assert not has_answer_type("Alleged Islamic State fighters sit blindfolded near Baghuz.", "name", asked)
    assert has_answer_type("Photo credit: Delil Souleiman/AFP", "name", asked)
    # A month the question names is not the date it asks for; the day is.
    asked = "On what day in March did the SDF capture Baghouz?"
    assert not has_answer_type("The SDF captured Baghouz in March.", "date", asked)
    assert has_answer_type("The SDF captured Baghouz on March 23.", "date", asked)
    # Without a question, the kind alone counts (as before).
    assert has_answer_type("The caliphate was defeated on March 23.", "number")


def test_sentence_openers_are_not_names() -> None:
    assert not has_answer_type("Based on the passages, it was a local man.", "name")
    assert not has_answer_type("“We were hungry,” said a local man.", "name")
    assert has_answer_type("Masrour Barzani said so.", "name")
    assert has_answer_type("It was Masrour Barzani.", "name")


def test_an_echo_of_the_question_is_refused() -> None:
    question = 'Who said "There were battles going on between the factions in Isis"?'
    passage = "“There were battles going on between the factions in Isis,” said Hoda Muthana."
    echo = '"There were battles going on between the factions in Isis" [1].'
    assert refusal_reason(echo, echo, question, [passage], 3, 0.5) == "echo"
    # Words about the sources add nothing either.
    echo = "Based on the information provided in the passages, there were battles between the factions [1]."
    assert refusal_reason(echo, echo, question, [passage], 3, 0.5) == "echo"
    answer = "Hoda Muthana said it [1]."
    assert refusal_reason(answer, answer, question, [passage], 3, 0.5) is None
