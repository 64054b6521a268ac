"""Reciprocal-rank fusion by hand, and hybrid retrieval on the real index."""

from __future__ import annotations

import pytest

from index.ingest import Ingestor
from index.store import open_index
from rag.retrieval import HybridRetriever, reciprocal_rank_fusion
from tests.conftest import ARTICLES_DIR


def test_rrf_scores_by_hand() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a", "b", "c"], "lexical": ["c", "a"]}, k=60)
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert [item for item, _ in fused] == ["a", "c", "b"]


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    from core.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    index = open_index(settings)
    Ingestor(index, show_progress=False).sync_folder(ARTICLES_DIR)
    return HybridRetriever(index, settings)


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("Who is the director of the International Centre for the Study of Radicalisation?", "Shiraz Maher"),
        ("Who took the photo of the fighters sitting blindfolded in a pickup truck?", "Delil Souleiman"),
        ("How many people emerged from Baghouz?", "50,000"),  # the other article's spelling
        ("Who took the photograph for the Spiegel story?", "Eddy van Wessel"),
    ],
)
def test_hybrid_retrieval_finds_names_and_numbers(retriever, question: str, needle: str) -> None:
    passages = retriever.retrieve(question)
    assert len(passages) == retriever.settings.top_k
    assert [p.n for p in passages] == list(range(1, len(passages) + 1))
    assert any(needle in p.text for p in passages)


def test_passages_carry_offsets_into_the_document(retriever) -> None:
    for passage in retriever.retrieve("Masrour Barzani security council"):
        doc = retriever.index.document(passage.doc_id)
        assert doc.text[passage.start : passage.end] == passage.text
        assert passage.title and passage.publication in ("The Guardian", "DER SPIEGEL")
