"""Conversations and feedback in SQLite, so a chat survives a page reload and a server restart.

One row per turn (question, checked answer, its citations and passages as JSON, timings, model);
one feedback row per rated turn, carrying its own copy of the question, answer and citations so
the evaluation set can grow from it even if the conversation is later pruned.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import TypeAdapter

from core.errors import StoreError
from core.sqlite_errors import file_problem
from rag.types import Answer, Citation, Passage, Timings, Turn

Rating = Literal["up", "down"]

_SCHEMA_VERSION = 1
_SCHEMA = """
PRAGMA journal_mode=WAL;
PRAGMA foreign_keys=ON;
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    citations TEXT NOT NULL,
    passages TEXT NOT NULL,
    timings TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (conversation_id, position)
);
CREATE TABLE IF NOT EXISTS feedback (
    turn_id INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    citations TEXT NOT NULL,
    model TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""

_CITATIONS = TypeAdapter(list[Citation])
_PASSAGES = TypeAdapter(list[Passage])
# Conversation ids come back from the browser: accept only what new_conversation_id() makes.
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_conversation_id() -> str:
    # Unguessable: the id is the only key to a conversation (it lives in the browser).
    return secrets.token_urlsafe(18)


def valid_conversation_id(value: object) -> bool:
    return isinstance(value, str) and bool(_CONVERSATION_ID.match(value))


@dataclass(frozen=True)
class StoredTurn:
    """One answered question as the chat shows it again after a reload."""

    id: int
    conversation_id: str
    position: int
    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    # The passages the citations point into, or the related reading of a refusal.
    passages: list[Passage] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    model: str = ""
    created_at: float = 0.0


@dataclass(frozen=True)
class FeedbackRow:
    turn_id: int
    conversation_id: str
    rating: Rating
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    model: str
    updated_at: float


def kept_passages(answer: Answer, related: int = 3) -> list[Passage]:
    """What a turn must remember to show its sources again: cited passages, or related reading."""
    if answer.refused or not answer.citations:
        return answer.passages[:related]
    cited = {c.chunk_id for c in answer.citations}
    return [p for p in answer.passages if p.chunk_id in cited]


class ChatStore:
    """All SQLite access for the chat; safe to share between Gradio's worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._file_errors():
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            with self._lock:
                self._conn.executescript(_SCHEMA)
                self._conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    @contextmanager
    def _file_errors(self) -> Iterator[None]:
        """A damaged or unusable chat file as one line naming it and what to do."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            problem = file_problem(exc)
            if problem == "damaged":
                raise StoreError(
                    f"the chat store {self.path} is damaged ({exc}); move it away and start again "
                    "(its conversations and feedback are lost)"
                ) from exc
            if problem == "unusable":
                raise StoreError(f"cannot use the chat store {self.path}: {exc}; check RAG_DATA_DIR") from exc
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._file_errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock, self._file_errors():
            return self._conn.execute(sql, params).fetchall()

    # --- turns ------------------------------------------------------------------------------
    def add_turn(self, conversation_id: str, answer: Answer) -> StoredTurn:
        """Append the checked answer to the conversation; returns the stored turn."""
        if not valid_conversation_id(conversation_id):
            raise ValueError(f"bad conversation id {conversation_id!r}")
        passages = kept_passages(answer)
        now = time.time()
        with self._tx() as conn:
            row = conn.execute(
                "SELECT coalesce(max(position), -1) + 1 FROM turns WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            position = row[0]
            cursor = conn.execute(
                "INSERT INTO turns (conversation_id, position, question, answer, refused, citations, "
                "passages, timings, model, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    position,
                    answer.question,
                    answer.answer,
                    int(answer.refused),
                    _CITATIONS.dump_json(answer.citations).decode(),
                    _PASSAGES.dump_json(passages).decode(),
                    answer.timings.model_dump_json(),
                    answer.model,
                    now,
                ),
            )
            turn_id = cursor.lastrowid
        assert turn_id is not None
        return StoredTurn(
            id=turn_id,
            conversation_id=conversation_id,
            position=position,
            question=answer.question,
            answer=answer.answer,
            refused=answer.refused,
            citations=list(answer.citations),
            passages=passages,
            timings=answer.timings,
            model=answer.model,
            created_at=now,
        )

    def turns(self, conversation_id: str) -> list[StoredTurn]:
        if not valid_conversation_id(conversation_id):
            return []
        rows = self._rows(
            "SELECT * FROM turns WHERE conversation_id = ? ORDER BY position", (conversation_id,)
        )
        return [_turn(r) for r in rows]

    def turn(self, conversation_id: str, turn_id: int) -> StoredTurn | None:
        """A turn of *this* conversation only: turn ids are guessable, conversation ids are not."""
        rows = self._rows(
            "SELECT * FROM turns WHERE conversation_id = ? AND id = ?", (conversation_id, turn_id)
        )
        return _turn(rows[0]) if rows else None

    def history(self, conversation_id: str) -> list[Turn]:
        """Earlier turns as the answer engine takes them: questions and checked answers."""
        return [Turn(user=t.question, assistant=t.answer) for t in self.turns(conversation_id)]

    # --- feedback ---------------------------------------------------------------------------
    def set_feedback(self, conversation_id: str, turn_id: int, rating: Rating | None) -> bool:
        """Record (or with ``None`` clear) the rating of a turn; False if there is no such turn."""
        turn = self.turn(conversation_id, turn_id)
        if turn is None:
            return False
        with self._tx() as conn:
            if rating is None:
                conn.execute("DELETE FROM feedback WHERE turn_id = ?", (turn_id,))
                return True
            conn.execute(
                "INSERT INTO feedback (turn_id, conversation_id, rating, question, answer, refused, "
                "citations, model, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(turn_id) DO UPDATE SET rating = excluded.rating, "
                "updated_at = excluded.updated_at",
                (
                    turn.id,
                    conversation_id,
                    rating,
                    turn.question,
                    turn.answer,
                    int(turn.refused),
                    _CITATIONS.dump_json(turn.citations).decode(),
                    turn.model,
                    time.time(),
                ),
            )
        return True

    def ratings(self, conversation_id: str) -> dict[int, Rating]:
        rows = self._rows(
            "SELECT turn_id, rating FROM feedback WHERE conversation_id = ?", (conversation_id,)
        )
        return {r["turn_id"]: r["rating"] for r in rows}

    def feedback(self) -> list[FeedbackRow]:
        """Every rated answer, oldest first: the raw material for new evaluation items."""
        rows = self._rows("SELECT * FROM feedback ORDER BY updated_at, turn_id")
        return [
            FeedbackRow(
                turn_id=r["turn_id"],
                conversation_id=r["conversation_id"],
                rating=r["rating"],
                question=r["question"],
                answer=r["answer"],
                refused=bool(r["refused"]),
                citations=_CITATIONS.validate_json(r["citations"]),
                model=r["model"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]


def _turn(row: sqlite3.Row) -> StoredTurn:
    return StoredTurn(
        id=row["id"],
        conversation_id=row["conversation_id"],
        position=row["position"],
        question=row["question"],
        answer=row["answer"],
        refused=bool(row["refused"]),
        citations=_CITATIONS.validate_json(row["citations"]),
        passages=_PASSAGES.validate_json(row["passages"]),
        timings=Timings.model_validate_json(row["timings"]),
        model=row["model"],
        created_at=row["created_at"],
    )


def feedback_as_json(rows: list[FeedbackRow]) -> str:
    """JSON lines for the evaluation team (one rated answer a line)."""
    return "\n".join(
        json.dumps(
            {
                "turn_id": r.turn_id,
                "rating": r.rating,
                "question": r.question,
                "answer": r.answer,
                "refused": r.refused,
                "citations": [c.model_dump() for c in r.citations],
                "model": r.model,
            },
            ensure_ascii=False,
        )
        for r in rows
    )
