"""Several chats retrieve at once (one per llama.cpp slot): the shared index, Chroma collection,
SQLite catalog and MiniLM embedder must give every thread the answer it gets alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from index.embedding import make_embedder
from index.ingest import Ingestor
from index.store import ArticleIndex, open_index
from rag.retrieval import HybridRetriever
from tests.conftest import ARTICLES_DIR

QUESTIONS = [
    "How many people emerged from Baghuz?",
    "Where did Baghdadi flee to?",
    "Which city did US airstrikes save from an Isis incursion?",
    "How many men did Isis lose in Kobane?",
    "Who is Shiraz Maher?",
    "What did Masrour Barzani say about Isis?",
    "When did the Raqqa offensive start?",
    "Who took the photo of the SDF fighters?",
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> ArticleIndex:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), cache_dir=model_cache)
    index = open_index(settings)
    Ingestor(index, show_progress=False).sync_folder(ARTICLES_DIR)
    return index


def _hits(retriever: HybridRetriever, question: str) -> list[tuple[str, float]]:
    return [(p.chunk_id, round(p.score, 9)) for p in retriever.retrieve(question)]


def test_retrieval_from_many_threads_matches_retrieval_alone(index: ArticleIndex) -> None:
    retriever = HybridRetriever(index, index.settings)
    alone = {q: _hits(retriever, q) for q in QUESTIONS}
    asked = QUESTIONS * 4
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: _hits(retriever, q), asked))
    assert together == [alone[q] for q in asked]


def test_embedding_from_many_threads_matches_embedding_alone(index: ArticleIndex) -> None:
    embedder = make_embedder(index.settings)
    alone = embedder.embed_array(QUESTIONS)
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: embedder.embed_array([q])[0], QUESTIONS * 4))
    np.testing.assert_allclose(np.stack(together), np.concatenate([alone] * 4), atol=1e-5)
