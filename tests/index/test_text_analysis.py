"""The shared text analyser: sentence boundaries (pysbd), numbers, dates, ages, names."""

from __future__ import annotations

import itertools

from index.articles import load_document
from index.text_analysis import ages, dates, names, numbers, quantities, sentence_spans, sentences
from tests.conftest import ARTICLES_DIR


def test_abbreviations_do_not_end_sentences() -> None:
    text = "Mr. Smith reached the U.S. on Friday. He left at 2.30 p.m. the next day. Then?"
    assert sentences(text) == [
        "Mr. Smith reached the U.S. on Friday.",
        "He left at 2.30 p.m. the next day.",
        "Then?",
    ]


def test_a_blank_line_always_ends_a_sentence() -> None:
    text = "Last days\n\nThe caliphate fell. Photo credit: AFP\n\nExpansion and overreach"
    assert sentences(text) == [
        "Last days",
        "The caliphate fell.",
        "Photo credit: AFP",
        "Expansion and overreach",
    ]


def test_offsets_are_exact_and_cover_the_articles() -> None:
    for path in sorted(ARTICLES_DIR.glob("*.txt")):
        text = load_document(path, 10**6).text
        spans = sentence_spans(text)
        assert len(spans) > 20
        for (s, e), (s2, _) in itertools.pairwise(spans):
            assert e <= s2 and text[s:e] == text[s:e].strip()
        # Nothing but whitespace lies between sentences.
        gaps = [text[e:s2] for (_, e), (s2, _) in itertools.pairwise(spans)]
        assert all(not gap.strip() for gap in gaps)
        assert not text[: spans[0][0]].strip() and not text[spans[-1][1] :].strip()


def test_a_window_of_the_text_is_split_in_place() -> None:
    text = "Intro. The first one. The second one. Outro."
    start = text.index("The first")
    end = text.index(" Outro")
    assert [text[s:e] for s, e in sentence_spans(text, start, end)] == ["The first one.", "The second one."]


def test_numbers_dates_ages_and_names() -> None:
    assert numbers("Up to 50,000 people and 1,500 men on March 23.") == {"50000", "1500", "23"}
    assert dates("On March 23, and in 2014, one midwinter night") == ["March 23", "2014", "midwinter"]
    assert dates("for four and a half years") == []
    assert quantities("a few dozen loyalists") == ["few", "dozen"]
    assert ages("a few dozen") == [] and ages("he was 48") == ["48"]
    assert names("The leader Abu Bakr al-Baghdadi fled to Baghuz.") == ["Abu", "Bakr", "Baghdadi", "Baghuz"]
    assert names("Baghdadi fled.", sentence_starts=False) == []
