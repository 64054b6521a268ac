"""What may be asked: a question and the earlier turns, checked before anything expensive runs.

Text reaches the engine from a terminal (argv and stdin are decoded with ``surrogateescape``, so
bytes that are not UTF-8 arrive as lone surrogates), from JSON history files and from the chat.
The tokenizers downstream accept only real text, so such input is refused here with a message
instead of failing deep inside a library.
"""

from __future__ import annotations

import unicodedata

from core.errors import InputError
from rag.types import Turn

# Longest earlier answer a history file may hold: the prompt shows the last two turns, and the
# chat's own answers are a few sentences.
MAX_HISTORY_ANSWER_CHARS = 1000


class QuestionError(InputError):
    """The question cannot be asked as it is (empty, too long, not text); the message says why."""


def text_problem(text: str) -> str | None:
    """Why ``text`` is not plain text a person typed (None when it is)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 text (it holds bytes of another encoding)"
    for char in text:
        if unicodedata.category(char) == "Cc" and not char.isspace():
            return f"holds a control character ({char!r})"
    return None


def validate_question(question: str, max_chars: int) -> str:
    """The question with its whitespace collapsed, or :class:`QuestionError` saying what is wrong."""
    question = " ".join((question or "").split())
    if not question:
        raise QuestionError("Please type a question.")
    problem = text_problem(question)
    if problem:
        raise QuestionError(f"The question {problem}; please type it again.")
    if len(question) > max_chars:
        raise QuestionError(
            f"That question is {len(question)} characters long; the limit is {max_chars}. Please shorten it."
        )
    return question


def validate_history(history: list[Turn]) -> list[Turn]:
    """``history`` unchanged, or :class:`QuestionError` naming the first turn that is not text."""
    for number, turn in enumerate(history, start=1):
        for role, text in (("question", turn.user), ("answer", turn.assistant or "")):
            problem = text_problem(text)
            if problem:
                raise QuestionError(f"Earlier turn {number}: its {role} {problem}.")
    return history


def check_history_lengths(history: list[Turn], max_question_chars: int) -> None:
    """Turns from a file must be as short as the chat's own (a long one would overflow the prompt)."""
    for number, turn in enumerate(history, start=1):
        if len(turn.user) > max_question_chars:
            raise QuestionError(
                f"Earlier turn {number}: its question is {len(turn.user)} characters long; "
                f"the limit is {max_question_chars}."
            )
        if len(turn.assistant or "") > MAX_HISTORY_ANSWER_CHARS:
            raise QuestionError(
                f"Earlier turn {number}: its answer is {len(turn.assistant or '')} characters long; "
                f"the limit is {MAX_HISTORY_ANSWER_CHARS}."
            )
