"""The packaged MiniLM ONNX embedder: shape, normalisation, determinism, padding, meaning."""

from __future__ import annotations

import numpy as np

from index.embedding import DIMENSIONS, make_embedder


def test_shape_norm_and_determinism(settings) -> None:
    embedder = make_embedder(settings)
    texts = ["Who took the photo?", "The photographer was Delil Souleiman.", "Rain in Spain."]
    first = np.array(embedder.embed_documents(texts))
    second = np.array(embedder.embed_documents(texts))
    assert first.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, second)
    assert np.allclose(embedder.embed_query(texts[0]), first[0], atol=1e-6)


def test_dynamic_padding_does_not_change_vectors(settings) -> None:
    embedder = make_embedder(settings)
    short = "Baghuz fell in March."
    alone = np.array(embedder.embed_query(short))
    batched = np.array(embedder.embed_documents([short, "a much longer sentence " * 30]))[0]
    assert np.allclose(alone, batched, atol=1e-5)


def test_similar_meaning_scores_higher(settings) -> None:
    embedder = make_embedder(settings)
    q, near, far = embedder.embed_documents(
        [
            "Where did the last battle take place?",
            "The final battle was fought in Baghuz.",
            "The recipe needs two eggs and flour.",
        ]
    )
    assert np.dot(q, near) > np.dot(q, far) + 0.2


def test_empty_input(settings) -> None:
    assert make_embedder(settings).embed_documents([]) == []
