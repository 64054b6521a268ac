"""Refusal decisions on hand-made answers."""

from __future__ import annotations

import pytest

from rag.refusal import expected_answer_type, has_answer_type, model_declined, refusal_reason


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many people emerged from Baghuz?", "number"),
        ("How old was the man?", "number"),
        ("When did Baghdadi flee?", "date"),
        ("In what year did the offensive start?", "date"),
        ("Who took the photo?", "name"),
        ("Where did he go?", "name"),
        ("What is the name of the reporter?", "name"),
        ("Why did Isis overreach?", "any"),
    ],
)
def test_expected_answer_type(question: str, kind: str) -> None:
    assert expected_answer_type(question) == kind


def test_has_answer_type() -> None:
    assert has_answer_type("Up to 50,000 people emerged.", "number")
    assert has_answer_type("Two drones circled.", "number")
    assert not has_answer_type("Just a cripple bent on survival.", "number")
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
