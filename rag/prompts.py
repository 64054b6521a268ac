"""Prompt templates live as plain files in ``prompts/``; this loads them by name."""

from __future__ import annotations

import functools

from pydantic import BaseModel

from core.settings import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"


class PromptNotFoundError(FileNotFoundError):
    pass


@functools.cache
def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>.txt`` without its trailing newline."""
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.is_file():
        raise PromptNotFoundError(f"no prompt named {name!r} (looked for {path.name} in prompts/)")
    return path.read_text(encoding="utf-8").rstrip("\n")


class PromptExample(BaseModel):
    """One worked example shown to the model before the real question (few-shot)."""

    passages: str
    question: str
    answer: str


@functools.cache
def load_examples(name: str) -> tuple[PromptExample, ...]:
    """The worked examples in ``prompts/<name>.jsonl``, one JSON object a line."""
    path = PROMPTS_DIR / f"{name}.jsonl"
    if not path.is_file():
        raise PromptNotFoundError(f"no examples named {name!r} (looked for {path.name} in prompts/)")
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(PromptExample.model_validate_json(line) for line in lines if line.strip())
