"""The model's own token probabilities, as both backends return them.

llama.cpp (embedded or as a server) and OpenAI-compatible APIs give, per generated token, its
log-probability and the likeliest alternatives (``top_logprobs``), in
``response_metadata["logprobs"]["content"]``. These are the model's probabilities *before* a
grammar constrains the choice, which is what makes them evidence: when the grammar forces an
answer, the alternatives still show how much the model wanted to decline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel


class TokenChoice(BaseModel):
    """One generated token, its log-probability, and the likeliest alternatives."""

    token: str
    logprob: float
    alternatives: list[tuple[str, float]] = []


def token_choices(metadata: Iterable[Mapping[str, Any]]) -> list[TokenChoice]:
    """The tokens of a (streamed) generation from its chunks' ``response_metadata``."""
    choices: list[TokenChoice] = []
    for meta in metadata:
        for entry in (meta.get("logprobs") or {}).get("content") or []:
            choices.append(
                TokenChoice(
                    token=entry.get("token", ""),
                    logprob=float(entry.get("logprob", 0.0)),
                    alternatives=[
                        (alt.get("token", ""), float(alt.get("logprob", 0.0)))
                        for alt in entry.get("top_logprobs") or []
                    ],
                )
            )
    return choices


def mass(choice: TokenChoice, wanted: Callable[[str], bool]) -> float:
    """Probability the model gave to the alternatives that ``wanted`` accepts (0..1)."""
    return min(1.0, sum(math.exp(lp) for token, lp in choice.alternatives if wanted(token)))


def position_after(choices: list[TokenChoice], prefix: str) -> int | None:
    """Index of the first token generated after the text ``prefix`` (None if never reached)."""
    text = ""
    for i, choice in enumerate(choices):
        if text.rstrip() == prefix.rstrip() and text.startswith(prefix.rstrip()):
            return i
        text += choice.token
    return None


def yes_probability(choice: TokenChoice) -> float | None:
    """P(yes) / (P(yes) + P(no)) at a yes/no answer token; None when neither is among the top."""
    yes = mass(choice, lambda t: t.strip().lower() == "yes")
    no = mass(choice, lambda t: t.strip().lower() == "no")
    return yes / (yes + no) if yes + no > 0 else None
