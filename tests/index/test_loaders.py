"""Loaders and cleaning on the real articles, other formats, and every bad-input case."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import load_document
from index.documents import IngestError
from tests.conftest import ARTICLES_DIR

GUARDIAN = ARTICLES_DIR / "guardian-baghuz-final-battle.txt"
SPIEGEL = ARTICLES_DIR / "spiegel-beaten-but-not-defeated.txt"


def _kinds(doc) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in doc.sections:
        out.setdefault(s.kind, []).append(doc.text[s.start : s.end])
    return out


def test_spiegel_boilerplate_removed_caption_and_title_kept() -> None:
    doc = load_document(SPIEGEL, 10**6)
    assert "Leave a Reply" not in doc.text
    assert doc.text.rstrip().endswith("what was taking place.")
    assert doc.publication == "DER SPIEGEL"
    assert doc.title.startswith("Beaten but Not Defeated")
    kinds = _kinds(doc)
    assert kinds["caption"] == ["Eddy van Wessel/ DER SPIEGEL"]
    assert kinds["heading"] == ["Historic Victory, Historic Defeat"]


def test_guardian_captions_tagged_and_republication_line_removed() -> None:
    doc = load_document(GUARDIAN, 10**6)
    assert doc.publication == "The Guardian"
    # The text opens with its first paragraph, not a headline: the real one is in metadata.json.
    assert doc.title == "The rise and fall of the Isis ‘caliphate’"
    assert "first appeared on" not in doc.text
    captions = _kinds(doc)["caption"]
    assert len(captions) == 4
    assert all("Photo credit:" in c for c in captions)
    assert any("Delil Souleiman/AFP" in c for c in captions)
    assert _kinds(doc)["heading"] == ["Last days", "Expansion and overreach", "Fears of a new insurgency"]


def test_titles_come_from_metadata_then_the_headline_line_then_the_file_name(tmp_path: Path) -> None:
    body = "A first paragraph that ends with a full stop.\n\nA second paragraph.\n"
    (tmp_path / "plain-story.txt").write_text(body)
    (tmp_path / "headed-story.txt").write_text("Ferry Returns to Vardoya\n\n" + body)
    (tmp_path / "named-story.txt").write_text("Ferry Returns to Vardoya\n\n" + body)
    (tmp_path / "metadata.json").write_text('{"named-story.txt": {"title": "The Real Headline"}}')
    assert load_document(tmp_path / "named-story.txt", 10**6).title == "The Real Headline"
    assert load_document(tmp_path / "headed-story.txt", 10**6).title == "Ferry Returns to Vardoya"
    assert load_document(tmp_path / "plain-story.txt", 10**6).title == "Plain story"


def test_sections_point_into_text_and_ids_are_stable() -> None:
    doc = load_document(GUARDIAN, 10**6)
    again = load_document(GUARDIAN, 10**6)
    assert doc.doc_id == again.doc_id == "guardian-baghuz-final-battle"
    assert doc.content_hash == again.content_hash
    for s in doc.sections:
        piece = doc.text[s.start : s.end]
        assert piece == piece.strip() and piece


def test_html_uses_a_parser_drops_furniture_and_keeps_figcaptions(tmp_path: Path) -> None:
    page = tmp_path / "story.html"
    page.write_text(
        """<html><head><title>Floods in Valencia</title>
        <meta property="og:site_name" content="El Diario"><script>var x = "<p>not text</p>";</script></head>
        <body><nav><a href="/">Home</a> Menu</nav><article><h1>Floods in Valencia</h1>
        <p>Rain fell for <b>eight</b> hours &amp; rivers rose.</p>
        <figure><img src="a.jpg">
        <figcaption>A flooded street. Photo credit: Ana Ruiz/EFE</figcaption></figure>
        <p>Leave a Reply</p></article><footer>Copyright 2024</footer></body></html>""",
        encoding="utf-8",
    )
    doc = load_document(page, 10**6)
    assert doc.title == "Floods in Valencia"
    assert doc.publication == "El Diario"
    assert "Rain fell for eight hours & rivers rose." in doc.text
    assert "not text" not in doc.text and "Menu" not in doc.text and "Copyright" not in doc.text
    assert "Leave a Reply" not in doc.text
    assert _kinds(doc)["caption"] == ["A flooded street. Photo credit: Ana Ruiz/EFE"]


def test_markdown_front_matter_and_markup(tmp_path: Path) -> None:
    page = tmp_path / "notes.md"
    page.write_text(
        "---\ntitle: Harbour reopens\npublication: Port Gazette\n---\n# Harbour reopens\n\n"
        "The harbour reopened on **Monday** after [repairs](http://example.invalid).\n\n## Costs\n\n"
        "- Repairs cost 2 million euros.\n",
        encoding="utf-8",
    )
    doc = load_document(page, 10**6)
    assert doc.title == "Harbour reopens" and doc.publication == "Port Gazette"
    assert "The harbour reopened on Monday after repairs." in doc.text
    assert "**" not in doc.text and "](" not in doc.text
    assert _kinds(doc)["heading"] == ["Costs"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \n", "no text"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
        ("latin1.txt", "Caf\u00e9 au lait".encode("latin-1"), "UTF-8"),
        ("table.csv", b"a,b\n1,2\n", "unsupported file type"),
        ("big.txt", b"word " * 300, "limit"),
    ],
)
def test_bad_input_gets_one_line_error_naming_file_and_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError) as info:
        load_document(path, max_bytes=1000)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message and reason in message


def test_missing_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        load_document(tmp_path / "nope.txt", 1000)
