"""Hybrid retrieval: dense (Chroma) and lexical (BM25) hits fused by reciprocal rank.

Dense MiniLM alone misses names and numbers; BM25 alone misses paraphrases. Fusing ranks (not
scores, which live on different scales) keeps the strengths of both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.settings import Settings
from index.store import ArticleIndex
from index.text_analysis import sentence_spans
from rag.text_match import content_terms
from rag.types import Passage


@dataclass
class _Candidate:
    chunk_id: str
    fused: float = 0.0
    dense: float | None = None
    lexical: float | None = None
    ranks: dict[str, int] = field(default_factory=dict)


def reciprocal_rank_fusion(rankings: dict[str, list[str]], k: int) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank), rank from 1."""
    scores: dict[str, float] = {}
    for ranked in rankings.values():
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


class HybridRetriever:
    def __init__(self, index: ArticleIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings

    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]:
        """The ``top_k`` best passages for ``question``, numbered from 1."""
        top_k = top_k or self.settings.top_k
        depth = max(self.settings.candidate_k, top_k)
        dense = self.index.dense_search(question, depth)
        lexical = self.index.lexical_search(question, depth)
        fused = reciprocal_rank_fusion(
            {"dense": [h.chunk_id for h in dense], "lexical": [h.chunk_id for h in lexical]},
            self.settings.rrf_k,
        )[:top_k]
        dense_scores = {h.chunk_id: h.score for h in dense}
        lexical_scores = {h.chunk_id: h.score for h in lexical}
        chunks = {c.chunk_id: c for c in self.index.chunks([cid for cid, _ in fused])}
        # Only the fused chunks' documents: listing every document cost half the time at 100k.
        titles = self.index.titles(sorted({c.doc_id for c in chunks.values()}))
        wanted = content_terms(question)
        passages = []
        for chunk_id, score in fused:
            chunk = chunks.get(chunk_id)
            if chunk is None:
                continue
            title, publication = titles.get(chunk.doc_id, (chunk.doc_id, ""))
            start, end = focus(chunk.text, wanted, self.settings.passage_char_budget)
            passages.append(
                Passage(
                    n=len(passages) + 1,
                    chunk_id=chunk_id,
                    doc_id=chunk.doc_id,
                    title=title,
                    publication=publication,
                    text=chunk.text[start:end],
                    start=chunk.start + start,
                    end=chunk.start + end,
                    kind=chunk.kind,
                    score=score,
                    dense_score=dense_scores.get(chunk_id),
                    lexical_score=lexical_scores.get(chunk_id),
                )
            )
        return passages


def focus(text: str, wanted: set[str], budget: int) -> tuple[int, int]:
    """Offsets of the contiguous run of whole sentences, at most ``budget`` characters long, that
    holds the most question words; the whole text when it fits. A shorter prompt is both faster
    and easier for a small model to read."""
    if len(text) <= budget:
        return 0, len(text)
    sentences = sentence_spans(text)
    hits = [len(content_terms(text[s:e]) & wanted) for s, e in sentences]
    best: tuple[int, int, int] | None = None  # (hits, -start, end)
    for i in range(len(sentences)):
        total = 0
        for j in range(i, len(sentences)):
            if sentences[j][1] - sentences[i][0] > budget:
                break
            total += hits[j]
            candidate = (total, -sentences[i][0], sentences[j][1])
            if best is None or candidate > best:
                best = candidate
    if best is None:  # a single sentence longer than the budget
        return 0, budget
    return -best[1], best[2]
