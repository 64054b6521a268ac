"""ChunkVectors.query asks Chroma for k hits without counting first: check the edge cases."""

from __future__ import annotations

import numpy as np

from index.vector_store import make_vector_store


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


def test_query_on_empty_and_small_collections(settings) -> None:
    vectors = make_vector_store(settings, settings.embedding_model)
    assert vectors.query(_unit(0), 5) == []
    vectors.upsert(["a", "b", "c"], ["d1", "d1", "d2"], np.stack([_unit(1), _unit(2), _unit(3)]))
    hits = vectors.query(_unit(2), 20)
    assert hits[0].chunk_id == "b" and len(hits) == 3
    assert hits[0].score > 0.99 > hits[1].score >= hits[2].score
    assert len(vectors.query(_unit(2), 2)) == 2
