"""Prompt templates live as plain files in ``prompts/``; this loads them by name."""

from __future__ import annotations

import functools

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
