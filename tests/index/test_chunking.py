"""Chunk offsets, sizes, overlap and boundaries on the real articles."""

from __future__ import annotations

import itertools

import pytest

from index.articles import load_document
from index.chunking import Chunker
from index.documents import Document, Section
from index.text_analysis import sentence_spans
from index.tokens import get_encoding
from tests.conftest import ARTICLES_DIR


@pytest.fixture(scope="module")
def encoding(tmp_path_factory: pytest.TempPathFactory):
    return get_encoding("cl100k_base", tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return [load_document(p, 10**6) for p in sorted(ARTICLES_DIR.glob("*.txt"))]


@pytest.mark.parametrize(("size", "overlap"), [(200, 40), (120, 20), (400, 0)])
def test_every_chunk_is_exactly_the_document_text_at_its_offsets(encoding, docs, size, overlap) -> None:
    chunker = Chunker(encoding, size, overlap)
    for doc in docs:
        chunks = chunker.chunk(doc)
        assert chunks
        for chunk in chunks:
            assert chunk.text == doc.text[chunk.start : chunk.end]
            assert chunk.n_tokens == len(encoding.encode(chunk.text))
            assert chunk.n_tokens <= size
        # Nothing of the document is lost: every sentence lies inside some chunk.
        for s, e in sentence_spans(doc.text):
            assert any(c.start <= s and e <= c.end for c in chunks), doc.text[s:e]


def test_chunks_start_and_end_on_sentence_boundaries_and_overlap(encoding, docs) -> None:
    chunker = Chunker(encoding, 200, 40)
    guardian = next(d for d in docs if d.doc_id.startswith("guardian"))
    chunks = chunker.chunk(guardian)
    starts = {s for s, _ in sentence_spans(guardian.text)}
    ends = {e for _, e in sentence_spans(guardian.text)}
    for chunk in chunks:
        assert chunk.start in starts and chunk.end in ends
    body = [c for c in chunks if c.kind == "body"]
    overlapping = sum(1 for a, b in itertools.pairwise(body) if b.start < a.end)
    assert overlapping >= len(body) // 2


def test_captions_are_chunks_of_their_own(encoding, docs) -> None:
    guardian = next(d for d in docs if d.doc_id.startswith("guardian"))
    captions = [c for c in Chunker(encoding, 200, 40).chunk(guardian) if c.kind == "caption"]
    assert len(captions) == 4
    assert all(c.text.endswith("AFP") or c.text.endswith("Reuters") for c in captions)


def test_heading_is_recorded_for_the_chunks_under_it(encoding, docs) -> None:
    guardian = next(d for d in docs if d.doc_id.startswith("guardian"))
    chunks = Chunker(encoding, 200, 40).chunk(guardian)
    maher = next(c for c in chunks if "Shiraz Maher" in c.text)
    assert maher.heading == "Expansion and overreach"


def test_a_sentence_longer_than_a_chunk_is_cut_at_token_boundaries(encoding) -> None:
    text = "Start. " + " ".join(f"word{i}" for i in range(400)) + " end. Final sentence."
    doc = Document("d", "t", "p", "x", text, "h" * 64, (Section(0, len(text), "body"),))
    chunks = Chunker(encoding, 64, 8).chunk(doc)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.n_tokens <= 64 + 2  # re-encoding a cut piece may merge differently at its edges
    assert chunks[-1].text.endswith("Final sentence.")


def test_overlap_must_be_smaller_than_size(encoding) -> None:
    with pytest.raises(ValueError):
        Chunker(encoding, 50, 50)
