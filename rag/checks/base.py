"""What every check reads, and what a check is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from rag.types import Reading, Turn

RefusalReason = Literal[
    "no_passages",
    "empty",
    "model_declined",
    "unsupported",
    "echo",
    "wrong_answer_type",
    "off_topic",
    "low_confidence",
    "not_calibrated_enough",
]


@dataclass(frozen=True)
class CheckContext:
    """One answer under check.

    ``answer_text`` is what would be shown as the answer's key fact: the supported sentences of a
    free answer, or the quoted phrase of a structured one. ``topic`` is the question with the one
    it follows up on ("Who is X? How old is he?"), for checks of what the question is about.
    """

    question: str
    topic: str
    raw_answer: str
    answer_text: str
    cited_texts: list[str]
    n_passages: int
    history: list[Turn] = field(default_factory=list)
    reading: Reading | None = None


class Check(ABC):
    """One reason to decline. ``passes`` is True when this check lets the answer stand."""

    reason: ClassVar[RefusalReason]

    @abstractmethod
    def passes(self, ctx: CheckContext) -> bool: ...
