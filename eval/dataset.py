"""Read evaluation datasets in the JSONL format of design.md (unknown extra fields ignored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InputError
from rag.types import Turn

AdversarialKind = Literal["swap", "negation", "number", "other_article", "false_premise"]


class DatasetError(InputError):
    """A dataset line that does not fit the format; the message names the file and line."""


class EvalItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    question: str
    answers: list[str] = Field(default_factory=list)
    answerable: bool = True
    evidence: str | None = None
    doc: str | None = None
    history: list[Turn] = Field(default_factory=list)
    category: str | None = None
    # Unanswerable items built to look answerable (SQuAD 2.0 style): the kind of trap, and a
    # verbatim quote of the corpus holding the plausible wrong answer.
    adversarial: AdversarialKind | None = None
    trap: str | None = None

    @property
    def kind(self) -> str:
        """single-turn, multi-turn or unanswerable (the report's categories)."""
        if not self.answerable:
            return "unanswerable"
        return "multi-turn" if self.history else "single-turn"


def load_dataset(path: Path) -> list[EvalItem]:
    items: list[EvalItem] = []
    seen: set[str] = set()
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = EvalItem.model_validate(json.loads(line))
            except (json.JSONDecodeError, ValidationError) as exc:
                first = str(exc).splitlines()[0]
                raise DatasetError(f"{path}:{number}: not a valid item ({first})") from None
            if item.id in seen:
                raise DatasetError(f"{path}:{number}: duplicate id {item.id!r}")
            if item.answerable and not item.answers:
                raise DatasetError(f"{path}:{number}: answerable item {item.id!r} has no answers")
            seen.add(item.id)
            items.append(item)
    if not items:
        raise DatasetError(f"{path}: no items")
    return items


def _squash(text: str) -> str:
    return " ".join(text.split())


def check_items(items: list[EvalItem], corpus: dict[str, str]) -> list[str]:
    """Problems of ``items`` against ``corpus`` (cleaned article text by file name): evidence and
    traps that are not verbatim in the corpus, answers missing or present where they must not be,
    adversarial items without their trap, duplicate questions. Empty when the items are sound."""
    problems: list[str] = []
    texts = [_squash(t) for t in corpus.values()]
    seen: dict[str, str] = {}
    for item in items:
        key = _squash(item.question.lower())
        if key in seen:
            problems.append(f"{item.id}: same question as {seen[key]}")
        seen[key] = item.id
        if item.answerable:
            if not item.evidence or not any(_squash(item.evidence) in t for t in texts):
                problems.append(f"{item.id}: evidence is not verbatim in the corpus")
            if item.adversarial or item.trap:
                problems.append(f"{item.id}: an answerable item cannot be adversarial")
        else:
            if item.answers or item.evidence:
                problems.append(f"{item.id}: an unanswerable item has answers or evidence")
            if item.adversarial and not item.trap:
                problems.append(f"{item.id}: adversarial item without its trap quote")
        if item.trap and not any(_squash(item.trap) in t for t in texts):
            problems.append(f"{item.id}: trap is not verbatim in the corpus")
    return problems
