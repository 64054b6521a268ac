"""The article index as one object: catalog + lexical index (SQLite) and vectors (Chroma).

This is the public face of ``index`` for ``rag`` and ``ui``: search both halves, read documents
and chunks, and keep the two stores in step (``recover``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from core.settings import Settings
from index.catalog import Catalog, DocumentInfo
from index.chunking import Chunker
from index.documents import Chunk, Document
from index.embedding import make_embedder
from index.lexical import LexicalHit, LexicalIndex
from index.tokens import get_encoding
from index.vector_store import ChunkVectors, DenseHit, make_vector_store


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
        embedder: Embeddings,
        vectors: ChunkVectors,
        catalog: Catalog,
        chunker: Chunker,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.vectors = vectors
        self.catalog = catalog
        self.chunker = chunker
        self.lexical = LexicalIndex(catalog)

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
            chunk_size_tokens=self.chunker.size,
            chunk_overlap_tokens=self.chunker.overlap,
            embedding_model=self.settings.embedding_model,
            vector_store=(
                f"chroma server {self.settings.chroma_host}:{self.settings.chroma_port}"
                if self.settings.chroma_host
                else "embedded chroma"
            ),
        )

    # --- consistency ------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Make Chroma agree with SQLite for every document an interrupted write left pending."""
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


def open_index(settings: Settings, embedder: Embeddings | None = None) -> ArticleIndex:
    """Open (creating if needed) the index under ``settings.data_dir`` and repair it if needed."""
    embedder = embedder or make_embedder(settings)
    catalog = Catalog(Path(settings.index_dir) / "catalog.sqlite3")
    vectors = make_vector_store(settings, settings.embedding_model)
    encoding = get_encoding(settings.tiktoken_encoding, settings.models_dir)
    chunker = Chunker(encoding, settings.chunk_size_tokens, settings.chunk_overlap_tokens)
    index = ArticleIndex(settings, embedder, vectors, catalog, chunker)
    index.recover()
    return index
