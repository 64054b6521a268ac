"""Citation repair on hand-made answers against hand-made passages (real MiniLM embedder)."""

from __future__ import annotations

import pytest

from index.embedding import make_embedder
from rag.citations import CitationChecker, split_answer
from rag.types import Passage

P1 = "Baghdadi fled from Baghuz to the Syrian desert around January 7. Very few knew he was there."
P2 = (
    "Up to 50,000 people emerged from a corner of the town. The camps had been set up to house "
    "less than a quarter of their number."
)
P3 = "Isis lost more than 1,500 men in Kobane for no apparent gain."


def _passages() -> list[Passage]:
    out = []
    for n, (text, start) in enumerate([(P1, 1000), (P2, 5000), (P3, 9000)], start=1):
        out.append(
            Passage(
                n=n,
                chunk_id=f"doc:{n}",
                doc_id="doc",
                title="T",
                publication="P",
                text=text,
                start=start,
                end=start + len(text),
            )
        )
    return out


@pytest.fixture(scope="module")
def checker(tmp_path_factory) -> CitationChecker:
    from core.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("d"))
    return CitationChecker(make_embedder(settings), threshold=0.55)


def test_split_answer_attaches_markers_written_after_the_full_stop() -> None:
    pieces = split_answer("He fled in January. [1] About 50,000 people left [2][3]. Done")
    assert pieces == [("He fled in January.", [1]), ("About 50,000 people left.", [2, 3]), ("Done", [])]


def test_wrong_marker_is_repaired_to_the_supporting_passage(checker) -> None:
    result = checker.check("Up to 50,000 people emerged from the town [1].", _passages())
    assert result.text == "Up to 50,000 people emerged from the town [2]."
    (citation,) = result.citations
    assert citation.n == 2 and citation.quote == "Up to 50,000 people emerged from a corner of the town."
    # The quote's offsets point into the document, not the passage.
    assert citation.start == 5000 and citation.end == 5000 + len(citation.quote)


def test_missing_marker_is_added(checker) -> None:
    result = checker.check("Baghdadi fled to the Syrian desert around January 7.", _passages())
    assert result.text == "Baghdadi fled to the Syrian desert around January 7 [1]."
    assert result.citations[0].quote.startswith("Baghdadi fled from Baghuz")


def test_out_of_range_marker_is_dropped_and_replaced(checker) -> None:
    result = checker.check("Isis lost more than 1,500 men in Kobane [7].", _passages())
    assert result.text == "Isis lost more than 1,500 men in Kobane [3]."
    assert [c.n for c in result.citations] == [3]


def test_unsupported_sentence_is_removed_and_never_cited(checker) -> None:
    answer = "Baghdadi fled around January 7 [1]. He was later seen in Paris wearing a red hat [1]."
    result = checker.check(answer, _passages())
    assert result.text == "Baghdadi fled around January 7 [1]."
    assert len(result.citations) == 1
    dropped = [s for s in result.sentences if not s.supported]
    assert [s.text for s in dropped] == ["He was later seen in Paris wearing a red hat."]


def test_invented_number_is_not_supported(checker) -> None:
    result = checker.check("Isis lost more than 9,000 men in Kobane [3].", _passages())
    assert result.text == "" and result.citations == []


def test_filler_opening_is_dropped(checker) -> None:
    result = checker.check("According to the passage, up to 50,000 people emerged [2].", _passages())
    assert result.text == "Up to 50,000 people emerged [2]."


def test_max_sentences(checker) -> None:
    answer = "Baghdadi fled around January 7. Up to 50,000 people emerged. Isis lost 1,500 men in Kobane."
    assert checker.check(answer, _passages(), max_sentences=2).text.count("[") == 2


def test_no_passages_means_nothing_is_supported(checker) -> None:
    result = checker.check("Baghdadi fled around January 7.", [])
    assert result.text == "" and not result.supported


def test_an_echoed_question_is_not_a_statement(checker) -> None:
    answer = "How many men did Isis lose in Kobane [3]? Isis lost more than 1,500 men in Kobane [3]."
    result = checker.check(answer, _passages())
    assert result.text == "Isis lost more than 1,500 men in Kobane [3]."
    (question,) = [s for s in result.sentences if not s.supported]
    assert question.reason == "a question, not a statement"
    # A quoted question inside a statement is still a statement.
    quoted = checker.check("“Where did Baghdadi flee?” Baghdadi fled to the Syrian desert [1].", _passages())
    assert "Syrian desert [1]" in quoted.text


def test_a_name_no_passage_gives_is_not_cited(checker) -> None:
    # Every other word is the passage's; the names are the model's own.
    invented = "Baghdadi fled from Baghuz to the Syrian desert with Mohamed and Yasser around January 7 [1]."
    assert checker.check(invented, _passages()).citations == []
    real = "Baghdadi fled from Baghuz to the Syrian desert around January 7 [1]."
    assert checker.check(real, _passages()).citations
    # A name the user gave (the question, the conversation) is not an invention.
    named = "Abu Bakr al-Baghdadi fled from Baghuz to the Syrian desert around January 7 [1]."
    assert checker.check(named, _passages()).citations == []
    assert checker.check(named, _passages(), known="Where did Abu Bakr al-Baghdadi flee?").citations
