"""Pure functions from answers, passages and articles to HTML for the page.

Every piece of text that reaches the page passes through :func:`html.escape` here: article text,
titles, publications, questions, answers and model tokens are all untrusted (an uploaded article
can hold ``<script>``; a model can be talked into writing markup). Nothing else in ``ui`` builds
HTML from text, so this module is the one place to audit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

from rag.types import Citation, Passage, Timings
from ui.chat_store import StoredTurn

RefKind = Literal["c", "r"]  # a citation of an answer, or a related passage of a refusal

MARK_ID = "article-hl"
# Chips and source cards are links to "#cite-<turn id>-<kind><index>": plain anchors survive the
# Chatbot's HTML sanitizer (it drops data-* attributes and event handlers), and a click listener
# in the page (ui/frontend.py) turns them into a server event.
_REF = re.compile(r"^#?cite-(\d{1,12})-([cr])(\d{1,4})$")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_SNIPPET_CONTEXT = 220  # characters of passage shown on each side of a quote in the sources panel


@dataclass(frozen=True)
class Ref:
    turn_id: int
    kind: RefKind
    index: int

    @property
    def anchor(self) -> str:
        return f"cite-{self.turn_id}-{self.kind}{self.index}"


def parse_ref(value: object) -> Ref | None:
    """The reference a chip or source card carries, or None for anything else the page sends."""
    if not isinstance(value, str):
        return None
    match = _REF.match(value.strip())
    if not match:
        return None
    kind: RefKind = "c" if match.group(2) == "c" else "r"
    return Ref(int(match.group(1)), kind, int(match.group(3)))


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _text(value: str) -> str:
    """Escaped text with line breaks kept."""
    return escape(value).replace("\n", "<br>")


def _source_label(title: str, publication: str) -> str:
    publication = "" if publication in ("", "unknown") else publication
    return f"{title} — {publication}" if publication else title


# --- chat messages ------------------------------------------------------------------------------
def user_html(question: str) -> str:
    return f'<div class="user-question">{_text(question)}</div>'


def streaming_html(tokens: int, checked: tuple[str, Sequence[Citation]] | None = None) -> str:
    """What the chat shows while an answer is made: never the model's unchecked words (a user
    would read claims the checks may withdraw), only how far the work has got and, for free-text
    answers, the sentences already checked (``checked``: text with [n] markers, citations), which
    the final answer is sure to keep. Their chips open nothing yet: the turn is not stored."""
    if checked is not None:
        text, citations = checked
        body = f"<p>{answer_text_html(None, text, citations)}</p>"
        state = "Checking the next sentence…"
    else:
        body = ""
        if tokens == 0:
            state = "Searching the articles…"
        else:
            state = f"Checking the answer against the articles… ({tokens} tokens drafted)"
    return (
        f'<div class="answer streaming">{body}<p><span class="thinking">{_text(state)}</span>'
        '<span class="cursor">▍</span></p>'
        '<div class="small-print">Only what the articles support will be shown.</div></div>'
    )


def chip_targets(answer: str, citations: Sequence[Citation]) -> list[int | None]:
    """For each [n] marker of ``answer`` in order, the index of the citation it opens.

    Several citations can share a passage number n (different sentences of one passage); the
    k-th marker [n] opens the k-th citation numbered n (the checker emits them in sentence
    order), and later markers the last one. A marker with no citation gets None.
    """
    by_n: dict[int, list[int]] = {}
    for i, citation in enumerate(citations):
        by_n.setdefault(citation.n, []).append(i)
    seen: dict[int, int] = {}
    targets: list[int | None] = []
    for match in _MARKER.finditer(answer):
        n = int(match.group(1))
        options = by_n.get(n)
        if not options:
            targets.append(None)
            continue
        k = seen.get(n, 0)
        seen[n] = k + 1
        targets.append(options[min(k, len(options) - 1)])
    return targets


def _chip(turn_id: int | None, index: int, citation: Citation) -> str:
    label = _source_label(citation.title, citation.publication)
    if turn_id is None:  # an answer still being checked: the chip names its source, opens nothing
        return f'<span class="cite-chip" title="{_attr(label)}">{citation.n}</span>'
    ref = Ref(turn_id, "c", index)
    return f'<a class="cite-chip" href="#{ref.anchor}" title="{_attr("Open " + label)}">{citation.n}</a>'


def answer_text_html(turn_id: int | None, answer: str, citations: Sequence[Citation]) -> str:
    """The answer with each [n] marker as a chip (a link when ``turn_id`` is known); everything
    else escaped."""
    parts: list[str] = []
    last = 0
    targets = chip_targets(answer, citations)
    for match, target in zip(_MARKER.finditer(answer), targets, strict=True):
        parts.append(_text(answer[last : match.start()]))
        if target is None:
            parts.append(escape(match.group(0)))
        else:
            parts.append(_chip(turn_id, target, citations[target]))
        last = match.end()
    parts.append(_text(answer[last:]))
    return "".join(parts)


def small_print(timings: Timings, model: str) -> str:
    ttft = f"{timings.ttft_s:.2f} s" if timings.ttft_s is not None else "–"
    items = [
        f"retrieval {timings.retrieval_s:.2f} s",
        f"first token {ttft}",
        f"total {timings.total_s:.2f} s",
    ]
    if model:
        items.append(f"model {model}")
    return '<div class="small-print">' + " · ".join(escape(i) for i in items) + "</div>"


def answer_html(turn: StoredTurn) -> str:
    """A checked answer as the chat shows it: chips, refusal note, small print."""
    if turn.refused:
        body = f'<p class="refusal">{_text(turn.answer)}</p>'
        if turn.passages:
            body += (
                '<p class="refusal-note">The closest passages are listed under '
                "<strong>Related reading</strong>.</p>"
            )
    else:
        body = f"<p>{answer_text_html(turn.id, turn.answer, turn.citations)}</p>"
    return f'<div class="answer">{body}{small_print(turn.timings, turn.model)}</div>'


def status_html(message: str, kind: Literal["error", "info"] = "error") -> str:
    if not message:
        return ""
    return f'<div class="status status-{kind}" role="status">{_text(message)}</div>'


# --- sources panel ------------------------------------------------------------------------------
SOURCES_PLACEHOLDER = (
    '<div class="sources empty"><h3>Sources</h3><p>The passages behind an answer appear here, '
    "with the supporting words highlighted. Click a number in an answer, or a source, to read "
    "the whole article.</p></div>"
)


def highlighted(text: str, start: int, end: int) -> str:
    """``text`` escaped, with ``text[start:end]`` wrapped in <mark>; offsets are clamped."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    if start == end:
        return _text(text)
    return f"{_text(text[:start])}<mark>{_text(text[start:end])}</mark>{_text(text[end:])}"


def _window(text: str, start: int, end: int, context: int) -> tuple[str, int, int, bool, bool]:
    """A slice of ``text`` around [start, end), within the quote's paragraph(s), cut at spaces.

    Returns (slice, start and end in the slice, cut on the left?, cut on the right?).
    """
    para_start = text.rfind("\n\n", 0, start)
    para_end = text.find("\n\n", end)
    lo = para_start + 2 if para_start != -1 else 0
    hi = para_end if para_end != -1 else len(text)
    left = max(lo, start - context)
    right = min(hi, end + context)
    if left > lo:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < hi:
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    return text[left:right], start - left, end - left, left > lo, right < hi


def citation_snippet(citation: Citation, passages: Sequence[Passage]) -> str:
    """The quote inside its passage, the quote highlighted, trimmed around it."""
    passage = next(
        (p for p in passages if p.chunk_id == citation.chunk_id and p.start <= citation.start < p.end),
        None,
    )
    if passage is None:  # not kept: the quote alone is still exact
        return f"<mark>{_text(citation.quote)}</mark>"
    text, start, end, cut_left, cut_right = _window(
        passage.text, citation.start - passage.start, citation.end - passage.start, _SNIPPET_CONTEXT
    )
    return ("… " if cut_left else "") + highlighted(text, start, end) + (" …" if cut_right else "")


def _related_snippet(text: str, limit: int = 320) -> str:
    snippet, _, _, _, cut = _window(text, 0, 0, limit)
    return _text(snippet) + (" …" if cut else "")


def _card(ref: Ref, number: str, title: str, publication: str, snippet: str) -> str:
    pub = "" if publication in ("", "unknown") else publication
    return (
        f'<li class="source"><a class="source-link" href="#{ref.anchor}" '
        f'title="{_attr("Open the whole article: " + title)}">'
        f'<span class="source-head"><span class="source-n">{escape(number)}</span>'
        f'<span class="source-title">{escape(title)}</span></span>'
        + (f'<span class="source-pub">{escape(pub)}</span>' if pub else "")
        + f'<span class="source-text">{snippet}</span></a></li>'
    )


def sources_html(turn: StoredTurn | None) -> str:
    """The sources panel for one turn: cited passages, or related reading for a refusal."""
    if turn is None:
        return SOURCES_PLACEHOLDER
    if turn.refused or not turn.citations:
        if not turn.passages:
            return (
                '<div class="sources"><h3>Related reading</h3><p>No passage came close to this '
                "question.</p></div>"
            )
        cards = [
            _card(
                Ref(turn.id, "r", i),
                "·",
                p.title,
                p.publication,
                _related_snippet(p.text),
            )
            for i, p in enumerate(turn.passages)
        ]
        return (
            '<div class="sources"><h3>Related reading</h3><p class="sources-note">The articles '
            "don't answer this question; these passages came closest.</p>"
            f'<ol class="source-list">{"".join(cards)}</ol></div>'
        )
    cards = [
        _card(Ref(turn.id, "c", i), str(c.n), c.title, c.publication, citation_snippet(c, turn.passages))
        for i, c in enumerate(turn.citations)
    ]
    return f'<div class="sources"><h3>Sources</h3><ol class="source-list">{"".join(cards)}</ol></div>'


# --- article view -------------------------------------------------------------------------------
ARTICLE_PLACEHOLDER = (
    '<div class="article-view empty"><p>Click a numbered chip in an answer, or a source, to read '
    "the whole article here with the supporting passage highlighted.</p></div>"
)


def article_html(
    title: str, publication: str, text: str, start: int, end: int, caption: str = "", opened: int = 0
) -> str:
    """The whole article, paragraph by paragraph, with ``text[start:end]`` marked.

    The first marked piece gets ``id=MARK_ID`` so the page can scroll to it; a span crossing
    paragraphs is marked in each. ``opened`` (a counter) makes every opening a new value, so the
    page re-renders and scrolls to the mark again even when the same source is clicked twice.
    """
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    paragraphs: list[str] = []
    marked = False
    for match in re.finditer(r"[^\n]+(?:\n(?!\n)[^\n]*)*", text):
        p_start, p_end = match.span()
        lo, hi = max(start, p_start), min(end, p_end)
        if lo < hi:
            mark_id = "" if marked else f' id="{MARK_ID}"'
            marked = True
            inner = (
                _text(text[p_start:lo])
                + f"<mark{mark_id}>{_text(text[lo:hi])}</mark>"
                + _text(text[hi:p_end])
            )
        else:
            inner = _text(text[p_start:p_end])
        paragraphs.append(f"<p>{inner}</p>")
    pub = "" if publication in ("", "unknown") else publication
    head = f"<h3>{escape(title)}</h3>" + (f'<div class="article-pub">{escape(pub)}</div>' if pub else "")
    note = f'<div class="article-note">{_text(caption)}</div>' if caption else ""
    return (
        f'<article class="article-view" data-opened="{int(opened)}"><header>{head}{note}</header>'
        f'<div class="article-body">{"".join(paragraphs)}</div></article>'
    )


def article_missing_html(title: str) -> str:
    return (
        f'<div class="article-view empty"><p>“{escape(title)}” is no longer in the index: '
        "it was removed after this answer was given.</p></div>"
    )


# --- articles tab -------------------------------------------------------------------------------
def articles_table_html(rows: Sequence[tuple[str, str, str, int, int]]) -> str:
    """Indexed articles: (doc_id, title, publication, chunks, characters) per row."""
    if not rows:
        return '<p class="articles-empty">No articles are indexed yet. Upload some above.</p>'
    body = "".join(
        f"<tr><td>{escape(title)}</td><td>{escape(publication)}</td><td><code>{escape(doc_id)}</code>"
        f"</td><td>{chunks}</td><td>{chars:,}</td></tr>"
        for doc_id, title, publication, chunks, chars in rows
    )
    return (
        '<table class="articles-table"><thead><tr><th>Title</th><th>Publication</th><th>Id</th>'
        f"<th>Chunks</th><th>Characters</th></tr></thead><tbody>{body}</tbody></table>"
    )


def results_html(lines: Sequence[tuple[bool, str]]) -> str:
    """Per-file outcomes of an upload or removal: (ok, message) each."""
    if not lines:
        return ""
    items = "".join(
        f'<li class="{"ok" if ok else "bad"}">{"✓" if ok else "✗"} {_text(message)}</li>'
        for ok, message in lines
    )
    return f'<ul class="file-results">{items}</ul>'
