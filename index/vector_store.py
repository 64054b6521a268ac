"""The Chroma collection of chunk vectors: embedded by default, a Chroma server when configured.

Vectors are always computed by our embedder and passed in; the collection is created with no
embedding function, so Chroma's own default (which downloads a model) can never run.

Chroma's own errors become product errors naming the store: a damaged embedded folder is a
:class:`DamagedIndexError` (with how to rebuild), a failing server a :class:`VectorStoreError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import chromadb
import chromadb.errors
import httpx
import numpy as np

from core.errors import BackendError, SettingsError, StoreError, one_line
from core.settings import Settings
from index.errors import DamagedIndexError

Guard = Callable[[], AbstractContextManager[None]]
# Hits asked of the probe that checks the vector index answers at all.
_PROBE_K = 10


class VectorStoreError(BackendError):
    """The Chroma server is unreachable or fails."""


class ModelMismatchError(StoreError):
    """The collection holds vectors of another embedding model."""


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    score: float  # cosine similarity, higher is closer


class ChunkVectors:
    """Thin wrapper over one Chroma collection keyed by chunk id, with ``doc_id`` metadata."""

    def __init__(self, collection: chromadb.Collection, guard: Guard | None = None) -> None:
        self._collection = collection
        self._guard = guard or _no_guard

    def upsert(self, ids: list[str], doc_ids: list[str], vectors: np.ndarray) -> None:
        with self._guard():
            for first in range(0, len(ids), 1000):
                sl = slice(first, first + 1000)
                self._collection.upsert(
                    ids=ids[sl],
                    embeddings=np.asarray(vectors[sl], dtype=np.float32),
                    metadatas=[{"doc_id": d} for d in doc_ids[sl]],
                )

    def delete(self, ids: list[str]) -> None:
        with self._guard():
            for first in range(0, len(ids), 1000):
                self._collection.delete(ids=ids[first : first + 1000])

    def ids_for_doc(self, doc_id: str) -> set[str]:
        with self._guard():
            return set(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def all_ids(self) -> set[str]:
        with self._guard():
            return set(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        with self._guard():
            return self._collection.count()

    def query(self, vector: list[float] | np.ndarray, k: int) -> list[DenseHit]:
        # No count() first: Chroma returns fewer hits (or none) itself, and count() costs ~8 ms
        # at 100k chunks.
        with self._guard():
            result = self._collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k, include=["distances"]
            )
        return [
            DenseHit(chunk_id, 1.0 - float(distance))
            for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def search_problem(self, count: int) -> str | None:
        """Whether the vector index still finds what the collection holds: a stored vector's search
        must return as many hits as were asked for. (A lost HNSW segment file makes Chroma answer
        with too few hits instead of failing.) None when it does."""
        if count == 0:
            return None
        with self._guard():
            stored = self._collection.get(limit=1, include=["embeddings"])
            if not stored["ids"]:
                return f"it counts {count} vectors but returns none"
            wanted = min(count, _PROBE_K)
            result = self._collection.query(
                query_embeddings=stored["embeddings"], n_results=wanted, include=[]
            )
        found = len(result["ids"][0])
        return None if found == wanted else f"a search returned {found} of {wanted} vectors"


@contextmanager
def _no_guard() -> Iterator[None]:
    yield


def _folder_guard(folder: Path, index_dir: Path) -> Guard:
    """Chroma's errors on an embedded folder mean the folder is damaged: say so, and how to fix."""

    @contextmanager
    def guard() -> Iterator[None]:
        try:
            yield
        # (Chroma's other errors, such as a wrong dimension or a duplicate id, are bugs of ours.)
        except (chromadb.errors.InternalError, chromadb.errors.NotFoundError) as exc:
            raise DamagedIndexError("vector store folder", folder, one_line(exc), index_dir) from exc

    return guard


def _server_guard(settings: Settings) -> Guard:
    where = f"{settings.chroma_host}:{settings.chroma_port}"

    @contextmanager
    def guard() -> Iterator[None]:
        try:
            yield
        except (chromadb.errors.ChromaError, httpx.HTTPError) as exc:
            raise VectorStoreError(
                f"the Chroma server at {where} failed ({type(exc).__name__}: {one_line(exc)}); "
                "check that it is running and RAG_CHROMA_HOST, RAG_CHROMA_PORT"
            ) from exc

    return guard


def chroma_folder(settings: Settings) -> Path:
    """The embedded store's folder (unused when ``RAG_CHROMA_HOST`` names a server)."""
    return settings.index_dir / "chroma"


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
    path = chroma_folder(settings)
    path.mkdir(parents=True, exist_ok=True)
    with _folder_guard(path, settings.index_dir)():
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def make_vector_store(settings: Settings, embedding_model: str) -> ChunkVectors:
    """The chunk collection, refusing one built with a different embedding model."""
    client = make_chroma_client(settings)
    guard = (
        _server_guard(settings)
        if settings.chroma_host
        else _folder_guard(chroma_folder(settings), settings.index_dir)
    )
    with guard():
        try:
            collection = client.get_or_create_collection(
                settings.chroma_collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": embedding_model},
            )
        except chromadb.errors.InvalidArgumentError as exc:  # a name Chroma does not accept
            raise SettingsError(
                f"RAG_CHROMA_COLLECTION={settings.chroma_collection!r}: {one_line(exc)}"
            ) from None
    stored = (collection.metadata or {}).get("embedding_model")
    if stored != embedding_model:
        raise ModelMismatchError(
            f"collection {settings.chroma_collection!r} holds {stored!r} vectors, not "
            f"{embedding_model!r}; use another RAG_CHROMA_COLLECTION or a fresh RAG_DATA_DIR"
        )
    return ChunkVectors(collection, guard)
