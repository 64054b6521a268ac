"""Play evaluation items through a pipeline, the way a user would ask them.

A pipeline is anything with ``ask(question, history) -> Answer`` and optionally the engine's
``stream``: the product's :class:`rag.engine.AnswerEngine` or the naive baseline of
:mod:`eval.naive`. Multi-turn items whose history has ``assistant: null`` are played turn by turn,
so the final question sees the system's own earlier answers, exactly as in a chat.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from eval.dataset import EvalItem
from rag.engine import AnswerEvent, QuestionError, TokenEvent
from rag.llm import LLMError
from rag.types import Answer, Turn


class Pipeline(Protocol):
    def ask(self, question: str, history: list[Turn]) -> Answer: ...


@dataclass(frozen=True)
class Asked:
    """An answer, plus what the harness itself saw of the token stream (None without a stream):
    when the last token arrived, and how many non-empty token events there were."""

    answer: Answer
    last_token_s: float | None = None
    stream_tokens: int | None = None


def ask(pipeline: Pipeline, question: str, history: list[Turn]) -> Asked:
    """``pipeline.stream`` when it has one, so the end of generation is known: ``Answer.timings``
    only has the first token and the end, and the end includes the checking after generation."""
    stream = getattr(pipeline, "stream", None)
    if stream is None:
        return Asked(pipeline.ask(question, history))
    started = time.perf_counter()
    last: float | None = None
    tokens = 0
    for event in stream(question, history):
        if isinstance(event, TokenEvent):
            if event.text:
                last = time.perf_counter() - started
                tokens += 1
        elif isinstance(event, AnswerEvent):
            return Asked(event.answer, round(last, 4) if last is not None else None, tokens)
    raise RuntimeError("the answer stream ended without an answer")


@dataclass
class PlayedItem:
    """One item after it went through the pipeline.

    ``answer`` is the answer to the final question (None when the item failed); ``history`` is the
    history the final question was asked with; ``turn_answers`` holds the system's answers to the
    earlier turns it played itself (None where the dataset gave the assistant text).
    """

    item: EvalItem
    answer: Answer | None
    history: list[Turn] = field(default_factory=list)
    turn_answers: list[Answer | None] = field(default_factory=list)
    error: str | None = None
    last_token_s: float | None = None
    stream_tokens: int | None = None


# Per-item failures: one bad question or one failed generation must not lose the whole run.
# Anything else (an empty index, a broken store) is a run-level problem and propagates.
ITEM_ERRORS: tuple[type[Exception], ...] = (QuestionError, LLMError)


def play_item(pipeline: Pipeline, item: EvalItem) -> PlayedItem:
    """Ask the item's question with its history, answering ``assistant: null`` turns first."""
    history: list[Turn] = []
    turn_answers: list[Answer | None] = []
    try:
        for turn in item.history:
            if turn.assistant is None:
                # The system answers this turn with the history so far; its text becomes the turn's.
                earlier = ask(pipeline, turn.user, list(history)).answer
                turn_answers.append(earlier)
                history.append(Turn(user=turn.user, assistant=earlier.answer))
            else:
                turn_answers.append(None)
                history.append(Turn(user=turn.user, assistant=turn.assistant))
        # A copy: a pipeline that keeps or mutates the list must not change what we record.
        asked = ask(pipeline, item.question, list(history))
    except ITEM_ERRORS as exc:
        return PlayedItem(item, None, history, turn_answers, f"{type(exc).__name__}: {exc}")
    return PlayedItem(
        item, asked.answer, history, turn_answers, None, asked.last_token_s, asked.stream_tokens
    )


def play_all(
    pipeline: Pipeline,
    items: Iterable[EvalItem],
    on_played: Callable[[PlayedItem], None] | None = None,
) -> Iterator[PlayedItem]:
    """Play items in order (order matters for reproducibility: the LLM reuses its prompt cache)."""
    for item in items:
        played = play_item(pipeline, item)
        if on_played:
            on_played(played)
        yield played
