"""The extractive fallback on hand-made passages."""

from __future__ import annotations

from rag.fallback import best_sentence
from rag.types import Passage

CAPTION = (
    "Alleged fighters sit blindfolded in the back of a pickup truck near the Omar oil field on "
    "January 30, 2019. Photo credit: Delil Souleiman/AFP"
)
BODY = "Up to 50,000 people emerged from a corner of the town. Some had news about the caliph."


def _passages() -> list[Passage]:
    return [
        Passage(
            n=1,
            chunk_id="c:1",
            doc_id="g",
            title="T",
            publication="The Guardian",
            text=BODY,
            start=100,
            end=100 + len(BODY),
        ),
        Passage(
            n=2,
            chunk_id="c:2",
            doc_id="g",
            title="T",
            publication="The Guardian",
            text=CAPTION,
            start=900,
            end=900 + len(CAPTION),
            kind="caption",
        ),
    ]


def test_caption_is_quoted_with_its_credit_line() -> None:
    citation = best_sentence(
        "Who took the photo of the blindfolded fighters in the pickup truck?", _passages(), 0.7
    )
    assert citation is not None and citation.n == 2
    assert citation.quote == CAPTION
    assert (citation.start, citation.end) == (900, 900 + len(CAPTION))


def test_number_question_gets_the_sentence_with_the_number() -> None:
    citation = best_sentence("How many people emerged from a corner of the town?", _passages(), 0.7)
    assert citation is not None and citation.quote == "Up to 50,000 people emerged from a corner of the town."


def test_no_fallback_when_the_question_is_not_covered() -> None:
    assert best_sentence("How many SDF fighters died in the final assault?", _passages(), 0.7) is None
    # Covered words but the wrong kind of answer: a "when" question needs a date.
    assert best_sentence("When did people emerge from a corner of the town?", _passages(), 0.7) is None


def test_the_quoted_sentence_must_add_the_name_asked_for() -> None:
    caption = (
        "The alleged Islamic State fighters sit blindfolded in the back of a truck near Baghuz. "
        "Photo credit: Delil Souleiman/AFP"
    )
    passage = Passage(
        n=1, chunk_id="c:9", doc_id="g", title="T", publication="P", text=caption, start=0, end=len(caption)
    )
    question = "Who photographed the alleged Islamic State fighters sitting blindfolded near Baghuz?"
    citation = best_sentence(question, [passage], 0.7)
    # The description alone covers the question as well as the pair and is shorter, but its only
    # names are the question's own: the credit line must come with it.
    assert citation is not None and citation.quote == caption
