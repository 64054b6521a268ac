"""Read evaluation datasets in the JSONL format of design.md (unknown extra fields ignored)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.types import Turn


class DatasetError(ValueError):
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
