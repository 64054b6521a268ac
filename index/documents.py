"""The shapes that flow through ingest: blocks from a loader, cleaned documents, chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.errors import InputError

BlockKind = Literal["title", "heading", "caption", "body"]


@dataclass(frozen=True)
class Block:
    """One paragraph-like unit a loader found, before cleaning."""

    text: str
    kind: BlockKind = "body"


@dataclass(frozen=True)
class Section:
    """A span of a cleaned document's text with what it is (caption, heading, ...)."""

    start: int
    end: int
    kind: BlockKind


@dataclass(frozen=True)
class Document:
    """A cleaned article: ``text`` is what chunks, citations and highlights point into."""

    doc_id: str
    title: str
    publication: str
    path: str
    text: str
    content_hash: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: ``text == document.text[start:end]`` always holds."""

    chunk_id: str
    doc_id: str
    position: int
    start: int
    end: int
    text: str
    kind: BlockKind = "body"
    heading: str = ""
    n_tokens: int = 0


class IngestError(InputError):
    """A file that cannot be indexed; ``str()`` is a one-line message naming file and reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
