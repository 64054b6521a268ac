"""HTML for the page: chips, sources, article view — and nothing untrusted ever becomes markup."""

from __future__ import annotations

import html
import re

import pytest

from rag.types import Timings
from tests.ui.helpers import (
    ARTICLE_TEXT,
    XSS,
    answer_about,
    assert_safe,
    citation,
    document,
    parse,
    passage,
    refusal,
    text_of,
)
from ui import render
from ui.chat_store import StoredTurn


def stored(answer, turn_id: int = 7) -> StoredTurn:
    from ui.chat_store import kept_passages

    return StoredTurn(
        id=turn_id,
        conversation_id="c" * 20,
        position=0,
        question=answer.question,
        answer=answer.answer,
        refused=answer.refused,
        citations=answer.citations,
        passages=kept_passages(answer),
        timings=answer.timings,
        model=answer.model,
    )


def test_answer_markers_become_chips_and_markup_in_the_answer_is_text() -> None:
    turn = stored(answer_about(document()))
    out = render.answer_html(turn)
    assert_safe(out)
    chips = [(tag, dict(attrs)) for tag, attrs in parse(out).tags if dict(attrs).get("class") == "cite-chip"]
    assert len(chips) == 1
    assert chips[0][1]["href"] == "#cite-7-c0"
    assert '<a class="cite-chip" href="#cite-7-c0"' in out and ">1</a>" in out
    # The injected markup is shown as the text it is.
    assert XSS in text_of(out)
    assert "&lt;script&gt;" in out and "<script" not in out and "<img" not in out


def test_small_print_has_timings_and_model() -> None:
    out = render.small_print(Timings(retrieval_s=0.123, ttft_s=1.5, total_s=4.25), "Qwen <0.5B>")
    assert "retrieval 0.12 s" in out and "first token 1.50 s" in out and "total 4.25 s" in out
    assert "model Qwen &lt;0.5B&gt;" in out
    assert "first token –" in render.small_print(Timings(), "")


def test_marker_without_citation_stays_plain_text() -> None:
    doc = document()
    answer = answer_about(doc).model_copy(update={"answer": "One [1] two [4]."})
    out = render.answer_html(stored(answer))
    assert out.count('class="cite-chip"') == 1 and "[4]" in out


def test_kth_marker_opens_kth_citation_with_that_number() -> None:
    doc = document()
    p = passage(doc, 0, len(doc.text))
    first = citation(doc, p, "The ferry Saltfjord carries 412 passengers.")
    second = citation(doc, p, "The harbour master is Ingrid Solberg.")
    other = citation(doc, passage(doc, 0, 13, n=2), "Harbour notes", n=2)
    cites = [first, other, second]
    assert render.chip_targets("A [1]. B [2]. C [1]. D [1]. E [3].", cites) == [0, 1, 2, 2, None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cite-12-c0", render.Ref(12, "c", 0)),
        ("#cite-3-r2", render.Ref(3, "r", 2)),
        ("cite-3-x2", None),
        ("cite--1-c0", None),
        ("javascript:alert(1)", None),
        (None, None),
        (42, None),
    ],
)
def test_references_from_the_page_are_parsed_strictly(value, expected) -> None:
    assert render.parse_ref(value) == expected


def test_sources_panel_highlights_the_quote_inside_its_passage() -> None:
    doc = document()
    turn = stored(answer_about(doc))
    out = render.sources_html(turn)
    assert_safe(out)
    marks = re.findall(r"<mark>(.*?)</mark>", out, re.S)
    assert [html.unescape(m) for m in marks] == ["The ferry Saltfjord carries 412 passengers."]
    # Title and publication are shown, escaped; the passage's markup is text.
    assert "Harbour &lt;b&gt;notes&lt;/b&gt;" in out and "Pier &amp; Co" in out
    assert 'href="#cite-7-c0"' in out
    assert "<script" not in out and "&lt;script&gt;" in out


def test_refusal_shows_the_refusal_and_related_reading() -> None:
    doc = document()
    turn = stored(refusal(doc))
    answer = render.answer_html(turn)
    assert "The articles don&#x27;t say." in answer and "Related reading" in answer
    assert "cite-chip" not in answer
    panel = render.sources_html(turn)
    assert_safe(panel)
    assert "Related reading" in panel
    assert 'href="#cite-7-r0"' in panel and 'href="#cite-7-r1"' in panel
    assert "<mark>" not in panel


def test_empty_sources_panel_is_a_placeholder() -> None:
    assert "Sources" in render.sources_html(None)


def test_article_view_marks_the_exact_span_with_an_id() -> None:
    doc = document()
    quote = "The harbour master is Ingrid Solberg."
    start = ARTICLE_TEXT.index(quote)
    out = render.article_html(doc.title, doc.publication, doc.text, start, start + len(quote), "Source [1]")
    assert_safe(out)
    marked = re.findall(rf'<mark id="{render.MARK_ID}">(.*?)</mark>', out, re.S)
    assert [html.unescape(m) for m in marked] == [quote]
    assert out.count("<mark") == 1
    # The whole text is there (paragraphs become <p>), its markup escaped.
    assert text_of(out).count("Harbour notes") == 1
    assert XSS in text_of(out)
    assert "<script" not in out and "<img" not in out
    assert "<h3>Harbour &lt;b&gt;notes&lt;/b&gt;</h3>" in out


def test_article_span_across_paragraphs_marks_each_part_once_with_one_id() -> None:
    text = "First paragraph ends here.\n\nSecond starts here and goes on."
    start, end = text.index("ends"), text.index("and")
    out = render.article_html("T", "P", text, start, end)
    marks = re.findall(r"<mark[^>]*>(.*?)</mark>", out)
    assert marks == ["ends here.", "Second starts here "]
    assert out.count(f'id="{render.MARK_ID}"') == 1
    assert out.count("<p>") == 2


def test_article_offsets_out_of_range_are_clamped() -> None:
    out = render.article_html("T", "unknown", "short text", 6, 500)
    assert re.findall(r"<mark[^>]*>(.*?)</mark>", out) == ["text"]
    assert "unknown" not in out  # an unknown publication is not shown


def test_quotes_and_attributes_cannot_break_out() -> None:
    doc = document(title='x" onmouseover="alert(1)')
    turn = stored(answer_about(doc))
    for out in (render.answer_html(turn), render.sources_html(turn)):
        assert_safe(out)
        assert "&quot; onmouseover=&quot;" in out


@pytest.mark.parametrize(
    "build",
    [
        lambda: render.user_html(XSS),
        lambda: render.status_html(XSS),
        lambda: render.results_html([(False, f"{XSS}.txt: file is empty")]),
        lambda: render.articles_table_html([("x", XSS, XSS, 1, 10)]),
        lambda: render.article_missing_html(XSS),
        lambda: render.highlighted(XSS, 0, 8),
    ],
)
def test_every_builder_escapes_its_text(build) -> None:
    out = build()
    assert_safe(out)
    assert "<script" not in out and "<img" not in out
    assert "alert" in text_of(out)


def test_source_snippet_stays_within_the_quotes_paragraph() -> None:
    text = "Last days\n\nThe enclave fell. Up to 50,000 people emerged from a corner of the town."
    doc = document(text=text)
    p = passage(doc, 0, len(text))
    c = citation(doc, p, "Up to 50,000 people emerged from a corner of the town.")
    snippet = render.citation_snippet(c, [p])
    assert "Last days" not in snippet and not snippet.startswith("…")
    assert (
        html.unescape(snippet)
        == "The enclave fell. <mark>Up to 50,000 people emerged from a corner of the town.</mark>"
    )
