"""Extractive fallback: when the generated answer cannot stand but one retrieved sentence plainly
answers the question, answer with that sentence, quoted and cited."""

from __future__ import annotations

from index.chunking import sentence_spans
from rag.refusal import expected_answer_type, has_answer_type
from rag.text_match import content_terms, coverage
from rag.types import Citation, Passage


def best_sentence(question: str, passages: list[Passage], min_coverage: float) -> Citation | None:
    """The passage sentence covering most of the question's content words, if it covers at least
    ``min_coverage`` of them and holds the kind of answer the question asks for."""
    wanted = content_terms(question)
    kind = expected_answer_type(question)
    best: tuple[float, Citation] | None = None
    for passage in passages:
        for start, end in sentence_spans(passage.text):
            text = passage.text[start:end]
            score = coverage(wanted, content_terms(text))
            # The answer must add something beyond the question's own words.
            if len(content_terms(text) - wanted) < 2 or not has_answer_type(text, kind):
                continue
            if score >= min_coverage and (best is None or score > best[0]):
                best = (
                    score,
                    Citation(
                        n=passage.n,
                        doc_id=passage.doc_id,
                        title=passage.title,
                        publication=passage.publication,
                        chunk_id=passage.chunk_id,
                        quote=text,
                        start=passage.start + start,
                        end=passage.start + end,
                        score=round(score, 4),
                    ),
                )
    return best[1] if best else None
