"""Token-sized chunks with overlap that break at sentence and paragraph ends.

Every chunk keeps exact character offsets into the cleaned document, so a passage can always be
shown and highlighted in place: ``document.text[chunk.start:chunk.end] == chunk.text``.
Captions and the title are chunks of their own; a heading is carried by the chunks under it.
"""

from __future__ import annotations

from dataclasses import dataclass

import tiktoken

from index.documents import Chunk, Document, Section
from index.text_analysis import sentence_spans

# Prefer ending a chunk at a paragraph end once it is this full.
_PARAGRAPH_BREAK_FILL = 0.7


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    n_tokens: int
    para_start: bool
    section: int


class Chunker:
    """Packs sentences into chunks of at most ``size`` tokens, repeating ``overlap`` tokens."""

    def __init__(self, encoding: tiktoken.Encoding, size: int, overlap: int) -> None:
        if overlap >= size:
            raise ValueError("overlap must be smaller than size")
        self.encoding = encoding
        self.size = size
        self.overlap = overlap

    def fingerprint(self) -> str:
        return f"chunker-v2:{self.encoding.name}:{self.size}:{self.overlap}"

    def count(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))

    def chunk(self, doc: Document) -> list[Chunk]:
        sections = doc.sections or (Section(0, len(doc.text), "body"),)
        chunks: list[Chunk] = []
        group: list[_Unit] = []
        for index, section in enumerate(sections):
            units = self._units(doc.text, section, index)
            if section.kind in ("caption", "title"):
                # Standalone: flush the running body group, then chunk the section alone.
                chunks += self._pack(doc, group, sections)
                group = []
                chunks += self._pack(doc, units, sections)
            else:
                group += units
        chunks += self._pack(doc, group, sections)
        return [
            Chunk(
                chunk_id=f"{doc.doc_id}:{doc.content_hash[:8]}:{i}",
                doc_id=doc.doc_id,
                position=i,
                start=c.start,
                end=c.end,
                text=c.text,
                kind=c.kind,
                heading=c.heading,
                n_tokens=c.n_tokens,
            )
            for i, c in enumerate(chunks)
        ]

    def _units(self, text: str, section: Section, index: int) -> list[_Unit]:
        units = []
        for n, (s, e) in enumerate(sentence_spans(text, section.start, section.end)):
            tokens = self.count(text[s:e])
            if tokens <= self.size:
                units.append(_Unit(s, e, tokens, n == 0, index))
                continue
            # A sentence longer than a chunk is cut at token boundaries.
            for k, (ps, pe) in enumerate(self._token_windows(text, s, e)):
                units.append(_Unit(ps, pe, self.count(text[ps:pe]), n == 0 and k == 0, index))
        return units

    def _token_windows(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        tokens = self.encoding.encode(text[start:end], disallowed_special=())
        _, offsets = self.encoding.decode_with_offsets(tokens)
        step = self.size - self.overlap
        windows = []
        for first in range(0, len(tokens), step):
            last = min(first + self.size, len(tokens))
            w_start = start + offsets[first]
            w_end = start + offsets[last] if last < len(tokens) else end
            if w_end > w_start:
                windows.append((w_start, w_end))
            if last == len(tokens):
                break
        return windows

    def _pack(self, doc: Document, units: list[_Unit], sections: tuple[Section, ...]) -> list[Chunk]:
        chunks: list[Chunk] = []
        i = 0
        while i < len(units):
            j, total = i + 1, units[i].n_tokens
            while j < len(units):
                # Stop at a paragraph end once the chunk is well filled.
                if units[j].para_start and total >= _PARAGRAPH_BREAK_FILL * self.size:
                    break
                # Count the real span: the whitespace between sentences costs tokens too.
                span = self.count(doc.text[units[i].start : units[j].end])
                if span > self.size:
                    break
                total = span
                j += 1
            chunks.append(self._make(doc, units[i:j], sections))
            if j >= len(units):
                break
            # Next chunk starts early enough to repeat up to ``overlap`` tokens.
            back, carried = j, 0
            while back - 1 > i and carried + units[back - 1].n_tokens <= self.overlap:
                back -= 1
                carried += units[back].n_tokens
            i = back
        return chunks

    def _make(self, doc: Document, units: list[_Unit], sections: tuple[Section, ...]) -> Chunk:
        start, end = units[0].start, units[-1].end
        section = sections[units[0].section]
        heading = ""
        for s in sections[: units[0].section + 1]:
            if s.kind == "heading":
                heading = doc.text[s.start : s.end]
        text = doc.text[start:end]
        return Chunk(
            chunk_id="",
            doc_id=doc.doc_id,
            position=0,
            start=start,
            end=end,
            text=text,
            kind="caption" if section.kind == "caption" else section.kind,
            heading=heading,
            n_tokens=self.count(text),
        )
