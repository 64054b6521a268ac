"""The rule checks of structured answers: the model's own probabilities as reasons to decline."""

from __future__ import annotations

from core.settings import Settings
from rag.checks import CheckContext, first_failure, rule_checks
from rag.checks.rules import Confident, ModelAnswered, lead_fact
from rag.types import Reading


def _ctx(reading: Reading, phrase: str = "two drones") -> CheckContext:
    return CheckContext(
        question="How many drones circled above Baghuz?",
        topic="How many drones circled above Baghuz?",
        raw_answer=reading.text,
        answer_text=phrase,
        cited_texts=["Two US drones circled above Baghuz, searching for targets."],
        n_passages=3,
        reading=reading,
    )


def test_a_structured_answer_counts_as_declined_when_none_had_most_probability() -> None:
    check = ModelAnswered(decline_p_none=0.5)
    assert check.passes(_ctx(Reading(text="Answer: two drones", p_none=0.2)))
    assert not check.passes(_ctx(Reading(text="Answer: two drones", p_none=0.7)))
    # A free answer declines in words.
    free = CheckContext("q?", "q?", "The articles don't say.", "", [], 3)
    assert not check.passes(free)


def test_confidence_thresholds_are_settings_and_off_by_default() -> None:
    shaky = Reading(text="Answer: two drones", p_none=0.4, p_supported=0.1)
    assert first_failure(_ctx(shaky), rule_checks(Settings())) is None
    strict = rule_checks(Settings(max_p_none=0.3))
    assert first_failure(_ctx(shaky), strict) == "low_confidence"
    assert not Confident(max_p_none=1.0, min_p_supported=0.5).passes(_ctx(shaky))
    assert Confident(max_p_none=1.0, min_p_supported=0.05).passes(_ctx(shaky))


def test_checks_run_in_order_and_the_first_failure_is_the_reason() -> None:
    reading = Reading(text="Answer: Baghuz", p_none=0.9)
    # Declined by the model comes before the answer type (a place is no number).
    assert first_failure(_ctx(reading, "Baghuz"), rule_checks(Settings())) == "model_declined"
    reading = Reading(text="Answer: Baghuz", p_none=0.1)
    assert first_failure(_ctx(reading, "Baghuz"), rule_checks(Settings())) == "echo"


def test_lead_fact_is_the_first_sentence_without_markers() -> None:
    assert lead_fact("Two drones circled [1]. They searched [2].") == "Two drones circled."
    assert lead_fact("") == ""
