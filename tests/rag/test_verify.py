"""How a structured answer's chosen sentence is presented: pure logic, no model."""

from __future__ import annotations

from rag.checks.features import candidates
from rag.types import Passage
from rag.verify import _with_quoted_neighbour

TEXT = (
    "The Vardoya lighthouse was painted teal in 2031. The painting was done by keeper Ingrid Solberg. "
    "The light has shone since 1870."
)


def passage(n: int, text: str = TEXT) -> Passage:
    return Passage(
        n=n, chunk_id=f"c{n}", doc_id="d", title="Log", publication="", text=text, start=0, end=len(text)
    )


def test_the_sentence_the_phrase_came_from_joins_the_chosen_one_beside_it() -> None:
    cands = candidates([passage(1)], None)
    joined = _with_quoted_neighbour(cands, 0, 1)
    assert (
        joined.text
        == "The Vardoya lighthouse was painted teal in 2031. The painting was done by keeper Ingrid Solberg."
    )
    # Either order: the quote always runs forward through the article.
    assert _with_quoted_neighbour(cands, 1, 0).text == joined.text


def test_a_distant_or_missing_or_other_passage_phrase_leaves_the_chosen_sentence_alone() -> None:
    cands = candidates([passage(1), passage(2)], None)
    assert _with_quoted_neighbour(cands, 0, None) is cands[0]
    assert _with_quoted_neighbour(cands, 0, 2) is cands[0]  # two sentences away
    assert _with_quoted_neighbour(cands, 2, 3) is cands[2]  # next in the list, but another passage
    assert _with_quoted_neighbour(cands, 1, 1) is cands[1]
