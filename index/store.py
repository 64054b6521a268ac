"""The article index as one object: catalog + lexical index (SQLite) and vectors (Chroma).

This is the public face of ``index`` for ``rag`` and ``ui``: search both halves, read documents
and chunks, and keep the two stores in step (``recover``). Opening it replays the journal of an
interrupted write and checks that the stores agree, but only when no live writer holds the
writer lock: a write in flight is not a crash.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cached_property

from langchain_core.embeddings import Embeddings

from core.errors import SettingsError
from core.settings import Settings
from index.catalog import Catalog, DocumentInfo
from index.chunking import Chunker
from index.documents import Chunk, Document
from index.embedding import make_embedder
from index.errors import DamagedIndexError
from index.lexical import LexicalHit, LexicalIndex
from index.tokens import get_encoding
from index.vector_store import ChunkVectors, DenseHit, chroma_folder, make_chroma_client, make_vector_store
from index.writer_lock import WriterLock

CATALOG_FILE = "catalog.sqlite3"


@dataclass(frozen=True)
class IndexStats:
    documents: int
    chunks: int
    vectors: int
    pending: int
    mean_chunk_tokens: float
    disk_bytes: int
    chunk_size_tokens: int
    chunk_overlap_tokens: int
    embedding_model: str
    vector_store: str

    @property
    def consistent(self) -> bool:
        return self.pending == 0 and self.chunks == self.vectors


class ArticleIndex:
    """Everything that reads or writes the index goes through here."""

    def __init__(
        self,
        settings: Settings,
        vectors: ChunkVectors,
        catalog: Catalog,
        writer_lock: WriterLock,
        embedder: Embeddings | None = None,
    ) -> None:
        self.settings = settings
        self.vectors = vectors
        self.catalog = catalog
        self.writer_lock = writer_lock
        self.lexical = LexicalIndex(catalog)
        self._embedder = embedder

    # Loaded on first use: listing or counting needs neither the embedding model nor tiktoken.
    @cached_property
    def embedder(self) -> Embeddings:
        return self._embedder or make_embedder(self.settings)

    @cached_property
    def chunker(self) -> Chunker:
        s = self.settings
        return Chunker(
            get_encoding(s.tiktoken_encoding, s.models_dir), s.chunk_size_tokens, s.chunk_overlap_tokens
        )

    @property
    def fingerprint(self) -> str:
        """What a document's chunks depend on besides its bytes."""
        return f"{self.chunker.fingerprint()}|{self.settings.embedding_model}"

    # --- search -----------------------------------------------------------------------------
    def dense_search(self, query: str, k: int) -> list[DenseHit]:
        hits = self.vectors.query(self.embedder.embed_query(query), k)
        # Only chunks the catalog has committed are real (a write may be in flight).
        known = {c.chunk_id for c in self.catalog.chunks([h.chunk_id for h in hits])}
        return [h for h in hits if h.chunk_id in known]

    def lexical_search(self, query: str, k: int) -> list[LexicalHit]:
        return self.lexical.search(query, k)

    def idf(self, words: list[str]) -> dict[str, float]:
        return self.lexical.idf(words)

    # --- reads ------------------------------------------------------------------------------
    def documents(self) -> list[DocumentInfo]:
        return self.catalog.documents()

    def document(self, doc_id: str) -> Document | None:
        return self.catalog.document(doc_id)

    def titles(self, doc_ids: list[str]) -> dict[str, tuple[str, str]]:
        return self.catalog.titles(doc_ids)

    def chunks(self, chunk_ids: list[str]) -> list[Chunk]:
        return self.catalog.chunks(chunk_ids)

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return self.catalog.chunks(doc_id=doc_id)

    def is_empty(self) -> bool:
        return self.catalog.count_chunks() == 0

    def stats(self) -> IndexStats:
        rows = self.catalog.query("SELECT count(*) AS n, avg(n_tokens) AS t FROM chunks")
        disk = sum(p.stat().st_size for p in self.settings.index_dir.rglob("*") if p.is_file())
        return IndexStats(
            documents=len(self.catalog.documents()),
            chunks=rows[0]["n"],
            vectors=self.vectors.count(),
            pending=len(self.catalog.pending()),
            mean_chunk_tokens=round(rows[0]["t"] or 0.0, 1),
            disk_bytes=disk,
            chunk_size_tokens=self.settings.chunk_size_tokens,
            chunk_overlap_tokens=self.settings.chunk_overlap_tokens,
            embedding_model=self.settings.embedding_model,
            vector_store=(
                f"chroma server {self.settings.chroma_host}:{self.settings.chroma_port}"
                if self.settings.chroma_host
                else "embedded chroma"
            ),
        )

    # --- consistency ------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Make Chroma agree with SQLite for every document an interrupted write left pending.

        Only for a holder of the writer lock: the pending rows of a live writer are its work in
        progress, not a crash."""
        repaired = self.catalog.pending()
        for doc_id in repaired:
            wanted = self.catalog.chunk_ids(doc_id)
            present = self.vectors.ids_for_doc(doc_id)
            if present - wanted:
                self.vectors.delete(sorted(present - wanted))
            missing = self.catalog.chunks(sorted(wanted - present))
            if missing:
                vectors = self.embedder.embed_documents([c.text for c in missing])
                self.vectors.upsert([c.chunk_id for c in missing], [doc_id] * len(missing), vectors)
            self.catalog.clear_pending(doc_id)
        return repaired

    def check(self, thorough: bool = False) -> None:
        """Raise :class:`DamagedIndexError` unless the stores agree and both answer (writer lock
        held, journal replayed). ``thorough`` also reads every page of the catalog."""
        if thorough:
            problem = self.catalog.integrity_problem()
            if problem:
                raise DamagedIndexError("index catalog", self.catalog.path, problem, self.settings.index_dir)
        chunks, vectors = self.catalog.count_chunks(), self.vectors.count()
        where = self._vectors_where()
        if chunks != vectors:
            # One store lost its data (a file emptied or deleted): neither may silently win.
            raise DamagedIndexError(
                "index",
                self.settings.index_dir,
                f"the catalog holds {chunks} chunks but {where} holds {vectors} vectors",
                self.settings.index_dir if not self.settings.chroma_host else None,
            )
        problem = self.vectors.search_problem(vectors)
        if problem:
            raise DamagedIndexError("vector store", where, problem, self.settings.index_dir)

    def _vectors_where(self) -> str:
        if self.settings.chroma_host:
            s = self.settings
            return f"collection {s.chroma_collection!r} of the Chroma server {s.chroma_host}:{s.chroma_port}"
        return f"collection {self.settings.chroma_collection!r} in {chroma_folder(self.settings)}"


def open_index(settings: Settings, embedder: Embeddings | None = None) -> ArticleIndex:
    """Open (creating if needed) the index under ``settings.data_dir``; when no writer is at work,
    repair an interrupted write and check that the stores agree (:class:`DamagedIndexError`)."""
    lock = writer_lock(settings)
    try:
        catalog = Catalog(settings.index_dir / CATALOG_FILE)
    except OSError as exc:
        raise _unusable_folder(settings, exc) from None
    vectors = make_vector_store(settings, settings.embedding_model)
    index = ArticleIndex(settings, vectors, catalog, lock, embedder)
    with lock.try_hold() as no_writer:
        if no_writer:
            index.recover()
            index.check()
    return index


def writer_lock(settings: Settings) -> WriterLock:
    """The writer lock of the index under ``settings.data_dir``."""
    try:
        return WriterLock(settings.index_dir, settings.index_lock_wait_s)
    except OSError as exc:
        raise _unusable_folder(settings, exc) from None


def _unusable_folder(settings: Settings, exc: OSError) -> SettingsError:
    return SettingsError(
        f"cannot use {settings.index_dir} for the index ({exc.strerror or exc}); check RAG_DATA_DIR"
    )


def delete_index(settings: Settings) -> None:
    """Remove the catalog and the vectors (a damaged index too), holding the writer lock: the first
    step of ``python -m index build --rebuild``. Run it before this process opens the index."""
    with writer_lock(settings).hold():
        for path in settings.index_dir.glob(CATALOG_FILE + "*"):  # with its -wal and -shm files
            path.unlink()
        if settings.chroma_host:
            client = make_chroma_client(settings)
            if settings.chroma_collection in {c.name for c in client.list_collections()}:
                client.delete_collection(settings.chroma_collection)
        else:
            shutil.rmtree(chroma_folder(settings), ignore_errors=True)
