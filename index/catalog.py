"""The SQLite catalog: documents, chunks, their FTS5 lexical index, and the ingest journal.

SQLite is the source of truth. Chroma cannot join a SQLite transaction, so every write that
touches both first records the document in ``pending`` (committed), then writes Chroma, then
commits the SQLite side and clears ``pending`` in one transaction. After a crash, the pending
rows say exactly which documents' vectors must be reconciled against SQLite.

A file that SQLite finds damaged (overwritten, truncated) raises :class:`DamagedIndexError`
naming it, whichever query meets the damage first.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.errors import StoreError
from core.sqlite_errors import file_problem
from index.documents import Chunk, Document, Section
from index.errors import DamagedIndexError

SCHEMA_VERSION = 1
# How long a statement waits for another connection's write. Writers are serialised by the
# writer lock and readers never wait in WAL mode, so this is only a safety margin.
_BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    publication TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    sections TEXT NOT NULL,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    kind TEXT NOT NULL,
    heading TEXT NOT NULL,
    n_tokens INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, position);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TABLE IF NOT EXISTS pending (doc_id TEXT PRIMARY KEY, started_at REAL NOT NULL);
"""


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite's errors about the file itself as one-line product errors naming it."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        problem = file_problem(exc)
        if problem == "damaged":
            raise DamagedIndexError("index catalog", path, str(exc), path.parent) from exc
        if problem == "unusable":
            raise StoreError(f"cannot use the index catalog {path}: {exc}; check RAG_DATA_DIR") from exc
        raise


@dataclass(frozen=True)
class DocumentInfo:
    """A catalog row without the full text, for listings."""

    doc_id: str
    title: str
    publication: str
    path: str
    content_hash: str
    n_chunks: int
    n_chars: int


class Catalog:
    """All SQLite access for the index; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        with _translated(path):
            self._conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=_BUSY_TIMEOUT_S
            )
            self._conn.row_factory = sqlite3.Row
            # WAL: readers see the last commit while a writer works, and never block it.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            if self._conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self._create_schema()

    def _create_schema(self) -> None:
        with self.transaction() as conn:
            for statement in _split_statements(_SCHEMA):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        with self._lock, _translated(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        with self._lock, _translated(self.path):
            return self._conn.execute(sql, params).fetchall()

    def integrity_problem(self) -> str | None:
        """SQLite's own check of every page (reads the whole file): None when the file is sound."""
        rows = self.query("PRAGMA quick_check")
        problems = [r[0] for r in rows if r[0] != "ok"]
        return "; ".join(problems[:3]) or None

    # --- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- journal ----------------------------------------------------------------------------
    def mark_pending(self, doc_ids: list[str]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO pending(doc_id, started_at) VALUES (?, ?)",
                [(d, time.time()) for d in doc_ids],
            )

    def pending(self) -> list[str]:
        return [r["doc_id"] for r in self.query("SELECT doc_id FROM pending ORDER BY doc_id")]

    # --- writes (inside a transaction) -------------------------------------------------------
    @staticmethod
    def write_document(conn: sqlite3.Connection, doc: Document, chunks: list[Chunk]) -> None:
        """Replace ``doc`` and its chunks (the journal entry stays until Chroma is tidied)."""
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc.doc_id,))
        conn.execute(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.doc_id,
                doc.title,
                doc.publication,
                doc.path,
                doc.content_hash,
                doc.text,
                json.dumps([[s.start, s.end, s.kind] for s in doc.sections]),
                time.time(),
            ),
        )
        conn.executemany(
            "INSERT INTO chunks(chunk_id, doc_id, position, start, end, kind, heading, n_tokens, text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (c.chunk_id, c.doc_id, c.position, c.start, c.end, c.kind, c.heading, c.n_tokens, c.text)
                for c in chunks
            ],
        )

    @staticmethod
    def delete_document(conn: sqlite3.Connection, doc_id: str) -> None:
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def clear_pending(self, doc_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM pending WHERE doc_id = ?", (doc_id,))

    # --- reads ------------------------------------------------------------------------------
    def content_hash(self, doc_id: str) -> str | None:
        rows = self.query("SELECT content_hash FROM documents WHERE doc_id = ?", (doc_id,))
        return rows[0]["content_hash"] if rows else None

    def documents(self) -> list[DocumentInfo]:
        rows = self.query(
            "SELECT d.doc_id, d.title, d.publication, d.path, d.content_hash, length(d.text) AS n_chars,"
            " (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) AS n_chunks"
            " FROM documents d ORDER BY d.doc_id"
        )
        return [
            DocumentInfo(
                r["doc_id"],
                r["title"],
                r["publication"],
                r["path"],
                r["content_hash"],
                r["n_chunks"],
                r["n_chars"],
            )
            for r in rows
        ]

    def titles(self, doc_ids: list[str]) -> dict[str, tuple[str, str]]:
        """``doc_id -> (title, publication)`` for the given documents only (cheap at any size)."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        rows = self.query(
            f"SELECT doc_id, title, publication FROM documents WHERE doc_id IN ({marks})", doc_ids
        )
        return {r["doc_id"]: (r["title"], r["publication"]) for r in rows}

    def document(self, doc_id: str) -> Document | None:
        rows = self.query("SELECT * FROM documents WHERE doc_id = ?", (doc_id,))
        if not rows:
            return None
        r = rows[0]
        sections = tuple(Section(s, e, k) for s, e, k in json.loads(r["sections"]))
        return Document(
            r["doc_id"], r["title"], r["publication"], r["path"], r["text"], r["content_hash"], sections
        )

    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        if doc_id is None:
            return {r["chunk_id"] for r in self.query("SELECT chunk_id FROM chunks")}
        rows = self.query("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))
        return {r["chunk_id"] for r in rows}

    def chunks(self, chunk_ids: list[str] | None = None, doc_id: str | None = None) -> list[Chunk]:
        """Chunks by id (in the order given; unknown ids skipped) or all chunks of a document."""
        if doc_id is not None:
            rows = self.query("SELECT * FROM chunks WHERE doc_id = ? ORDER BY position", (doc_id,))
            return [_chunk(r) for r in rows]
        if not chunk_ids:
            return []
        marks = ",".join("?" * len(chunk_ids))
        rows = self.query(f"SELECT * FROM chunks WHERE chunk_id IN ({marks})", chunk_ids)
        by_id = {r["chunk_id"]: _chunk(r) for r in rows}
        return [by_id[c] for c in chunk_ids if c in by_id]

    def count_chunks(self) -> int:
        return self.query("SELECT count(*) AS n FROM chunks")[0]["n"]


def _split_statements(script: str) -> list[str]:
    """The statements of ``script`` (``sqlite3.complete_statement`` keeps triggers whole)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def _chunk(row: sqlite3.Row) -> Chunk:
    return Chunk(
        row["chunk_id"],
        row["doc_id"],
        row["position"],
        row["start"],
        row["end"],
        row["text"],
        row["kind"],
        row["heading"],
        row["n_tokens"],
    )
