"""What a question asks for and whether an answer gives it: the evidence behind declining.

What kind of answer a question wants (a number for "how many", a date for "when", a name for
"who"), whether a text holds one the question did not already say, whether it adds anything to
the question, whether the model itself declined, and how much of the question the cited
passages cover. The checks (``rag.checks``) and the calibrated decision's features read these.
"""

from __future__ import annotations

import re
from typing import Literal

from index.text_analysis import ages, dates, names, quantities
from rag.text_match import content_terms, coverage, word_keys

AnswerType = Literal["age", "number", "date", "name", "any"]

_DECLINE = re.compile(
    r"(articles? (do|does|did)n['’]?t say|(do|does|did) not (say|mention|state|specify|provide|contain)"
    r"|not (mentioned|stated|specified|provided|given|available)|no (information|mention|details?)"
    r"|(cannot|can['’]t|unable to) (answer|determine|find|tell)|i don['’]?t know)",
    re.IGNORECASE,
)
# Words about the sources, not about the world: "the passage states ..." adds nothing to a question.
_SOURCE_TERMS = content_terms("based passage article information provided text source states mentioned")


def expected_answer_type(question: str) -> AnswerType:
    q = question.lower()
    if re.search(r"\bhow old\b|\bwhat age\b|\bat what age\b", q):
        return "age"
    if re.search(r"\bhow (many|much|long|far)\b|\bwhat (number|percentage|share|proportion)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bdate\b|\bwhat (year|month|day|time)\b|\bwhich (year|month|day)\b", q):
        return "date"
    if re.search(
        r"\bwho(m|se)?\b|\bwhere\b|\bwhich (city|town|country|village|province|group|agency)\b"
        r"|\bwhat (is|was|were|are) the names?\b|\bnames? of\b",
        q,
    ):
        return "name"
    return "any"


def typed_tokens(text: str, kind: AnswerType) -> list[str]:
    """The words of ``text`` that are the kind of answer asked for: numbers, dates, names."""
    if kind == "name":
        return names(text.strip())
    finder = {"age": ages, "number": quantities, "date": dates}.get(kind)
    return finder(text) if finder else []


def has_answer_type(text: str, kind: AnswerType, asked: str = "") -> bool:
    """``text`` holds the kind of answer asked for; with ``asked``, one that the question did not
    already say: "March 23" does not answer "How many days after March 23 ...?"."""
    if kind == "any":
        return True
    known = word_keys(asked)
    return any(word_keys(token) - known for token in typed_tokens(text, kind))


def adds_to_question(text: str, asked: str) -> bool:
    """``text`` says something beyond the question's own words (and words about the sources)."""
    return bool(content_terms(text) - content_terms(asked) - _SOURCE_TERMS)


def model_declined(text: str) -> bool:
    """The model said, in its own words, that the passages lack the answer."""
    return bool(_DECLINE.search(text))


def question_coverage(question: str, evidence_texts: list[str]) -> float:
    """Share of the question's content words that the cited passages contain.

    An answer copied from a passage about something else ("When did he die?" answered from a
    passage about when he fled) fails here even though each of its words is supported.
    """
    evidence: set[str] = set()
    for text in evidence_texts:
        evidence |= content_terms(text)
    return coverage(content_terms(question), evidence)
