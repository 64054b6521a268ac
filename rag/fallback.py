"""Extractive fallback: when the generated answer cannot stand but one retrieved sentence plainly
answers the question, answer with that sentence, quoted and cited."""

from __future__ import annotations

from rag.citations import candidate_spans
from rag.refusal import expected_answer_type, has_answer_type
from rag.text_match import content_terms, coverage
from rag.types import Citation, Passage


def best_sentence(
    question: str, passages: list[Passage], min_coverage: float, asked: str | None = None
) -> Citation | None:
    """The passage sentence (or pair of adjacent sentences: a caption's credit line follows its
    description) covering most of the question's content words, if it covers at least
    ``min_coverage`` of them and holds the kind of answer the question asks for, one the user's
    own words (``asked``, by default ``question``) did not already say. Ties go to the shorter span
    and then the better-ranked passage."""
    wanted = content_terms(question)
    kind = expected_answer_type(question)
    best: tuple[float, int, int] | None = None
    chosen = None
    for rank, span in enumerate(candidate_spans(passages)):
        text = span.text
        terms = content_terms(text)
        score = coverage(wanted, terms)
        # The answer must add something beyond the question's own words.
        if score < min_coverage or not (terms - wanted) or not has_answer_type(text, kind, asked or question):
            continue
        key = (score, -len(text), -rank)
        if best is None or key > best:
            best, chosen = key, span
    if chosen is None or best is None:
        return None
    return chosen.citation(round(best[0], 4))
