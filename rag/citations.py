"""Citation checking: tie every answer sentence to the span of a passage that supports it.

The model's own [n] markers are only hints. Each sentence of the answer is compared with every
sentence (and pair of adjacent sentences) of every retrieved passage, by word overlap and by
embedding similarity; the best span wins. A sentence whose best support is below the threshold,
or that states a number or a name no passage has, is dropped: it is never shown as cited.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from index.text_analysis import names, numbers, sentence_spans
from rag.text_match import content_terms, coverage, leading_markers, strip_filler, strip_markers, word_keys
from rag.types import Citation, Passage


@dataclass(frozen=True)
class Span:
    """A candidate supporting span: one or two adjacent sentences of a passage."""

    passage: Passage
    start: int  # offsets into passage.text
    end: int

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]

    def citation(self, score: float) -> Citation:
        """This span as a citation, its offsets moved from the passage into the document."""
        p = self.passage
        return Citation(
            n=p.n,
            doc_id=p.doc_id,
            title=p.title,
            publication=p.publication,
            chunk_id=p.chunk_id,
            quote=self.text,
            start=p.start + self.start,
            end=p.start + self.end,
            score=score,
        )


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without markers
    claimed: tuple[int, ...]  # the model's markers
    support: float
    span: Span | None
    supported: bool
    reason: str = ""


@dataclass(frozen=True)
class CheckedAnswer:
    sentences: list[CheckedSentence]
    text: str  # supported sentences with repaired [n] markers
    citations: list[Citation]

    @property
    def supported(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.supported]


def split_answer(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences of a generated answer with the markers that belong to each.

    A marker written after the full stop ("... fled. [2] Then ...") belongs to the sentence
    before it, so leading markers of a sentence are moved back.
    """
    pieces: list[tuple[str, list[int]]] = []
    for start, end in sentence_spans(answer):
        lead, rest = leading_markers(answer[start:end])
        if lead and pieces:
            pieces[-1][1].extend(lead)
        text, markers = strip_markers(rest)
        text = strip_filler(text) if text else text
        if text:
            pieces.append((text, (lead if not pieces else []) + markers))
        elif markers and pieces:
            pieces[-1][1].extend(markers)
    return pieces


def candidate_spans(passages: list[Passage]) -> list[Span]:
    spans: list[Span] = []
    for passage in passages:
        sentences = sentence_spans(passage.text)
        for i, (start, end) in enumerate(sentences):
            spans.append(Span(passage, start, end))
            if i + 1 < len(sentences):
                spans.append(Span(passage, start, sentences[i + 1][1]))
    return spans


class CitationChecker:
    """``lexical_weight``: weight of word overlap against embedding similarity in the support
    score; ``claim_tolerance``: the model's own [n] is kept when its span is this close to the
    best; ``unsourced_penalty``: support is multiplied by this for a number or name no passage
    (nor the user) gave."""

    def __init__(
        self,
        embedder: Embeddings,
        threshold: float,
        lexical_weight: float = 0.6,
        claim_tolerance: float = 0.05,
        unsourced_penalty: float = 0.5,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.lexical_weight = lexical_weight
        self.claim_tolerance = claim_tolerance
        self.unsourced_penalty = unsourced_penalty

    def check(
        self, answer: str, passages: list[Passage], max_sentences: int = 3, known: str = ""
    ) -> CheckedAnswer:
        """``known``: text the user gave (the question, the conversation); names in it are not
        inventions even when no passage repeats them."""
        pieces = split_answer(answer)
        spans = candidate_spans(passages)
        if not pieces or not spans:
            checked = [CheckedSentence(t, tuple(m), 0.0, None, False, "no passages") for t, m in pieces]
            return CheckedAnswer(checked, "", [])
        vectors = np.asarray(self.embedder.embed_documents([t for t, _ in pieces] + [s.text for s in spans]))
        claim_vecs, span_vecs = vectors[: len(pieces)], vectors[len(pieces) :]
        similarity = claim_vecs @ span_vecs.T
        span_terms = [content_terms(s.text) for s in spans]
        passage_numbers = {p.n: numbers(p.text) for p in passages}
        sourced = word_keys(known + " " + " ".join(p.text for p in passages))
        checked = [
            self._check_sentence(text, markers, spans, span_terms, similarity[i], passage_numbers, sourced)
            for i, (text, markers) in enumerate(pieces)
        ]
        return _assemble(checked, max_sentences)

    def _check_sentence(
        self,
        text: str,
        markers: list[int],
        spans: list[Span],
        span_terms: list[set[str]],
        similarity: np.ndarray,
        passage_numbers: dict[int, set[str]],
        sourced: set[str],
    ) -> CheckedSentence:
        claim = content_terms(text)
        claim_numbers = numbers(text)
        # A name that no passage (nor the user) gave is an invention, wherever it would be cited.
        invented_name = any(not word_keys(name) <= sourced for name in names(text, sentence_starts=False))
        scores = []
        for span, terms, cosine in zip(spans, span_terms, similarity, strict=True):
            weight = self.lexical_weight
            score = weight * coverage(claim, terms) + (1 - weight) * max(float(cosine), 0.0)
            # A number the passage never states is the commonest invention of a small model.
            if invented_name or not claim_numbers <= passage_numbers[span.passage.n]:
                score *= self.unsourced_penalty
            scores.append(score)
        best = int(np.argmax(scores))
        # Keep the model's own marker when it points at a span nearly as good as the best.
        claimed = [i for i, s in enumerate(spans) if s.passage.n in markers]
        if claimed:
            top_claimed = max(claimed, key=lambda i: scores[i])
            if scores[top_claimed] >= scores[best] - self.claim_tolerance:
                best = top_claimed
        support = round(scores[best], 4)
        ok = support >= self.threshold
        reason = "" if ok else f"support {support:.2f} below {self.threshold:.2f}"
        # A small model sometimes echoes the question; copied words are not an answer.
        if text.rstrip("”\"'’ ").endswith("?"):
            ok, reason = False, "a question, not a statement"
        return CheckedSentence(text, tuple(markers), support, spans[best], ok, reason)


def _assemble(checked: list[CheckedSentence], max_sentences: int) -> CheckedAnswer:
    """The first ``max_sentences`` supported sentences with their markers, and one citation per
    distinct supporting span."""
    parts: list[str] = []
    citations: list[Citation] = []
    for sentence in [s for s in checked if s.supported and s.span is not None][:max_sentences]:
        span = sentence.span
        passage = span.passage
        body = sentence.text
        end_mark = body[-1] if body[-1] in ".!?" else "."
        body = body[:-1] if body[-1] in ".!?" else body
        parts.append(f"{body} [{passage.n}]{end_mark}")
        citation = span.citation(sentence.support)
        if all(
            (c.chunk_id, c.start, c.end) != (citation.chunk_id, citation.start, citation.end)
            for c in citations
        ):
            citations.append(citation)
    return CheckedAnswer(checked, " ".join(parts), citations)
