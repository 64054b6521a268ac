"""Free-text answers shown sentence by sentence, each sentence only once it has been checked.

While the model writes, each time a sentence is complete the answer so far goes through the same
verifier as the final answer. It may be shown when the check keeps it in the model's own words
(not a refusal, not the extractive fallback's quote) and it only adds to what is already on
screen. A shown sentence is never withdrawn: if the whole answer, checked at the end, would drop
or change one (a closing "The articles don't say." turns it into a refusal, say), the answer
stops at the last shown sentence, as if the model had stopped there. A refusal is therefore only
ever shown when nothing was shown before it.

Structured answers (the default) are one grammar-bound phrase and a one-sentence reply, decided
as a whole after generation; they are not streamed this way.
"""

from __future__ import annotations

from collections.abc import Callable

from index.text_analysis import sentence_spans
from rag.text_match import leading_markers, strip_markers
from rag.types import Answer


def _norm(text: str) -> str:
    return " ".join(text.split())


def complete_prefix(raw: str) -> str:
    """The part of ``raw`` made of complete sentences: everything before the last sentence that
    has words (it may still be growing). A bare ``[n]`` after a full stop belongs to the
    sentence before it, so it stays in the prefix."""
    starts = [s for s, e in sentence_spans(raw) if strip_markers(raw[s:e])[0].strip(" .")]
    if len(starts) < 2:
        return ""
    growing = raw[starts[-1] :]
    cut = len(raw) - len(leading_markers(growing)[1])
    return raw[:cut].rstrip()


def in_own_words(answer: Answer, raw: str) -> bool:
    """Every sentence of the checked answer is one the model wrote (markers aside)."""
    written = _norm(strip_markers(raw)[0])
    text = answer.answer
    spans = sentence_spans(text)
    return bool(spans) and all(strip_markers(text[s:e])[0] in written for s, e in spans)


def _cited(answer: Answer) -> list[tuple[int, str, int, int]]:
    return [(c.n, c.chunk_id, c.start, c.end) for c in answer.citations]


def extends(answer: Answer, shown: Answer) -> bool:
    """``answer`` keeps everything of ``shown``: its text, markers included, and its citations."""
    if answer.refused:
        return False
    return _norm(answer.answer).startswith(_norm(shown.answer)) and (
        _cited(answer)[: len(shown.citations)] == _cited(shown)
    )


class SentenceStream:
    """Feeds on the growing raw answer; says when a checked, longer answer may be shown."""

    def __init__(self, check: Callable[[str], Answer]) -> None:
        self._check = check  # raw answer -> checked Answer (the engine's verifier)
        self._checked_prefix = ""
        self.shown: Answer | None = None

    def feed(self, raw: str) -> Answer | None:
        """The checked answer to show now, or None when there is nothing new to show."""
        prefix = complete_prefix(raw)
        if not prefix or prefix == self._checked_prefix:
            return None
        self._checked_prefix = prefix
        partial = self._check(prefix)
        if partial.refused or not in_own_words(partial, prefix):
            return None
        if self.shown is not None and (
            not extends(partial, self.shown) or _norm(partial.answer) == _norm(self.shown.answer)
        ):
            return None
        self.shown = partial
        return partial

    def settle(self, final: Answer) -> Answer:
        """The answer to give: ``final`` unless it would take back something already shown."""
        if self.shown is None or extends(final, self.shown):
            return final
        return self.shown
