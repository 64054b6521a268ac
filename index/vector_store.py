"""The Chroma collection of chunk vectors: embedded by default, a Chroma server when configured.

Vectors are always computed by our embedder and passed in; the collection is created with no
embedding function, so Chroma's own default (which downloads a model) can never run.
"""

from __future__ import annotations

from dataclasses import dataclass

import chromadb
import numpy as np

from core.settings import Settings


class VectorStoreError(RuntimeError):
    """Chroma is unreachable or holds vectors from another embedding model."""


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    score: float  # cosine similarity, higher is closer


class ChunkVectors:
    """Thin wrapper over one Chroma collection keyed by chunk id, with ``doc_id`` metadata."""

    def __init__(self, collection: chromadb.Collection) -> None:
        self._collection = collection

    def upsert(self, ids: list[str], doc_ids: list[str], vectors: np.ndarray) -> None:
        for first in range(0, len(ids), 1000):
            sl = slice(first, first + 1000)
            self._collection.upsert(
                ids=ids[sl],
                embeddings=np.asarray(vectors[sl], dtype=np.float32),
                metadatas=[{"doc_id": d} for d in doc_ids[sl]],
            )

    def delete(self, ids: list[str]) -> None:
        for first in range(0, len(ids), 1000):
            self._collection.delete(ids=ids[first : first + 1000])

    def ids_for_doc(self, doc_id: str) -> set[str]:
        return set(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def all_ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        return self._collection.count()

    def query(self, vector: list[float] | np.ndarray, k: int) -> list[DenseHit]:
        # No count() first: Chroma returns fewer hits (or none) itself, and count() costs ~8 ms
        # at 100k chunks.
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k, include=["distances"]
        )
        return [
            DenseHit(chunk_id, 1.0 - float(distance))
            for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True)
        ]


def make_chroma_client(settings: Settings) -> chromadb.ClientAPI:
    """``PersistentClient`` under the data folder, or ``HttpClient`` when a host is set."""
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises several transport types
            raise VectorStoreError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({type(exc).__name__}); start it with `chroma run --host {settings.chroma_host} "
                f"--port {settings.chroma_port}` or unset RAG_CHROMA_HOST for the embedded store"
            ) from None
        return client
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def make_vector_store(settings: Settings, embedding_model: str) -> ChunkVectors:
    """The chunk collection, refusing one built with a different embedding model."""
    client = make_chroma_client(settings)
    collection = client.get_or_create_collection(
        settings.chroma_collection,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
        metadata={"embedding_model": embedding_model},
    )
    stored = (collection.metadata or {}).get("embedding_model")
    if stored != embedding_model:
        raise VectorStoreError(
            f"collection {settings.chroma_collection!r} holds {stored!r} vectors, not "
            f"{embedding_model!r}; use another RAG_CHROMA_COLLECTION or a fresh RAG_DATA_DIR"
        )
    return ChunkVectors(collection)
