"""The hand-written checks, in the order they run; the first that fails gives the refusal reason.

Each is small and reads one :class:`CheckContext`; thresholds come from the settings, so
``python -m eval recheck --set KEY=VALUE`` can sweep any of them on stored generations.
"""

from __future__ import annotations

from core.settings import Settings
from index.text_analysis import sentence_spans
from rag.checks.base import Check, CheckContext, RefusalReason
from rag.refusal import (
    adds_to_question,
    expected_answer_type,
    has_answer_type,
    model_declined,
    question_coverage,
)
from rag.text_match import strip_markers


def lead_fact(text: str) -> str:
    """The first sentence of ``text``, markers removed: the prompt asks for the key fact first."""
    spans = sentence_spans(text)
    if not spans:
        return ""
    start, end = spans[0]
    return strip_markers(text[start:end])[0]


class HasPassages(Check):
    reason = "no_passages"

    def passes(self, ctx: CheckContext) -> bool:
        return ctx.n_passages > 0


class NotEmpty(Check):
    reason = "empty"

    def passes(self, ctx: CheckContext) -> bool:
        return bool(ctx.raw_answer.strip())


class ModelAnswered(Check):
    """The model did not itself decline: in its words (free answers) or, for a structured answer
    the grammar forced, by giving "none" at least ``decline_p_none`` of its probability."""

    reason = "model_declined"

    def __init__(self, decline_p_none: float) -> None:
        self.decline_p_none = decline_p_none

    def passes(self, ctx: CheckContext) -> bool:
        if ctx.reading is not None:
            return (ctx.reading.p_none or 0.0) < self.decline_p_none
        return not model_declined(ctx.raw_answer)


class Supported(Check):
    """Something of the answer is supported by a retrieved span."""

    reason = "unsupported"

    def passes(self, ctx: CheckContext) -> bool:
        return bool(ctx.answer_text.strip())


class AddsToQuestion(Check):
    """A copy of the question's own words answers nothing, however well it is cited."""

    reason = "echo"

    def passes(self, ctx: CheckContext) -> bool:
        return adds_to_question(lead_fact(ctx.answer_text), ctx.topic)


class RightAnswerType(Check):
    """The key fact is the kind of thing the question asks for (a number for "how many", a date
    for "when", a name for "who"), one the question did not already say."""

    reason = "wrong_answer_type"

    def passes(self, ctx: CheckContext) -> bool:
        return has_answer_type(lead_fact(ctx.answer_text), expected_answer_type(ctx.question), ctx.topic)


class OnTopic(Check):
    """The cited passages hold enough of the question's words: an answer about when he *fled*
    does not answer when he *died*."""

    reason = "off_topic"

    def __init__(self, min_coverage: float) -> None:
        self.min_coverage = min_coverage

    def passes(self, ctx: CheckContext) -> bool:
        return question_coverage(ctx.topic, ctx.cited_texts) >= self.min_coverage


class Confident(Check):
    """The model's own probabilities: not too much on "none", enough on "yes, supported"."""

    reason = "low_confidence"

    def __init__(self, max_p_none: float, min_p_supported: float) -> None:
        self.max_p_none = max_p_none
        self.min_p_supported = min_p_supported

    def passes(self, ctx: CheckContext) -> bool:
        reading = ctx.reading
        if reading is None:
            return True
        if reading.p_none is not None and reading.p_none > self.max_p_none:
            return False
        return reading.p_supported is None or reading.p_supported >= self.min_p_supported


def rule_checks(settings: Settings) -> list[Check]:
    """The checks in the order they run, with the thresholds of ``settings``."""
    return [
        HasPassages(),
        NotEmpty(),
        ModelAnswered(settings.decline_p_none),
        Supported(),
        AddsToQuestion(),
        RightAnswerType(),
        OnTopic(settings.min_question_coverage),
        Confident(settings.max_p_none, settings.min_p_supported),
    ]


def first_failure(ctx: CheckContext, checks: list[Check]) -> RefusalReason | None:
    """The reason of the first check that fails, or None when the answer may stand."""
    for check in checks:
        if not check.passes(ctx):
            return check.reason
    return None
