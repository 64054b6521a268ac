"""Turn loader blocks into a clean article: boilerplate out, captions and headings tagged.

Photo captions stay in the text (they carry answerable facts: who took a photo, when, where)
but are tagged so chunking keeps them apart and the UI can show them as captions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.documents import Block, Section

# Whole blocks that are web-page furniture, not article text (matched case-insensitively).
_BOILERPLATE = re.compile(
    r"^(leave a (reply|comment)|cancel reply|share this( article| story)?:?|related (posts|articles|stories)"
    r"|advertisement|read more:?|sign up for .*newsletter.*|subscribe( now)?( to .*)?"
    r"|you must be logged in to post a comment\.?|click here to .*|follow us on .*"
    r"|all rights reserved\.?|©.*|copyright .*)$",
    re.IGNORECASE,
)
# "This article first appeared on The Guardian." names the publication; the line itself goes.
_FIRST_APPEARED = re.compile(
    r"^this (article|story) (first|originally) appeared (on|in) (?P<pub>.+?)\.?$", re.IGNORECASE
)
_CAPTION_MARKERS = re.compile(r"\b(photo(graph)? credit|photo|credit|picture|image)\s*:", re.IGNORECASE)
# A credit line on its own: "Eddy van Wessel/ DER SPIEGEL", "Jane Doe/AFP".
_CREDIT_LINE = re.compile(r"^[A-Z][\w.’'\- ]{1,60}/\s?[A-Z][\w.’'\-/ ]{1,60}$")
_TERMINAL = (".", "?", "!", ":", ";", ",", '"', "”", "’")


@dataclass(frozen=True)
class CleanText:
    text: str
    sections: tuple[Section, ...]
    publication: str | None


def clean_blocks(blocks: list[Block]) -> CleanText:
    """Drop boilerplate, tag captions and headings, and join blocks with blank lines."""
    publication = None
    kept: list[Block] = []
    for block in blocks:
        text = block.text.strip()
        appeared = _FIRST_APPEARED.match(text)
        if appeared:
            publication = appeared.group("pub").strip()
            continue
        if _BOILERPLATE.match(text):
            continue
        kept.append(Block(text, _classify(text, block.kind, is_first=not kept)))

    parts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for block in kept:
        if parts:
            offset += 2  # the "\n\n" joining blocks
        parts.append(block.text)
        sections.append(Section(offset, offset + len(block.text), block.kind))
        offset += len(block.text)
    return CleanText("\n\n".join(parts), tuple(sections), publication)


def _classify(text: str, kind: str, is_first: bool) -> str:
    if kind != "body":
        return kind
    if _CAPTION_MARKERS.search(text) or _CREDIT_LINE.match(text):
        return "caption"
    # A short line with no closing punctuation between paragraphs is a section heading.
    if not is_first and "\n" not in text and len(text.split()) <= 8 and not text.endswith(_TERMINAL):
        return "heading"
    return "body"
