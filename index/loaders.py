"""Read article files (.txt, .md, .html) into blocks, refusing bad input with a clear reason.

Markdown is rendered to HTML by markdown-it and then read by the same HTML path, so both use a
real parser (BeautifulSoup + lxml) rather than regular expressions.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, Tag
from markdown_it import MarkdownIt

from index.documents import Block, IngestError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
METADATA_FILE = "metadata.json"

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
# Elements whose text is never article content.
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "nav",
    "footer",
    "aside",
    "form",
    "header",
    "iframe",
    "svg",
    "button",
    "template",
)
_BLOCK_TAGS = (
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "blockquote",
    "figcaption",
    "pre",
    "td",
    "dd",
    "dt",
)


@dataclass(frozen=True)
class LoadedFile:
    """What a loader read: blocks plus any title/publication the file itself declares."""

    blocks: list[Block]
    title: str | None = None
    publication: str | None = None


def read_text(path: Path, max_bytes: int) -> str:
    """The file's text, or an :class:`IngestError` saying exactly why it cannot be used."""
    name = str(path)
    if not name.isprintable() or _undecodable(name):
        # The catalog (SQLite, UTF-8) and every message need a name that is text.
        shown = repr(os.fsencode(path))[2:-1]  # the bytes, escaped: always one printable line
        raise IngestError(shown, "the file name is not printable UTF-8 text; rename the file")
    if not path.exists():
        raise IngestError(name, "no such file")
    if not path.is_file():
        raise IngestError(name, "not a regular file")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise IngestError(name, f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .md or .html")
    size = path.stat().st_size
    if size == 0:
        raise IngestError(name, "file is empty")
    if size > max_bytes:
        raise IngestError(name, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise IngestError(name, "binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(name, f"not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise IngestError(name, "file has no text (only whitespace)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes the file system name held that were not UTF-8
        return True
    return False


def load_file(path: Path, text: str) -> LoadedFile:
    """Split ``text`` into blocks according to the file type."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return _load_txt(text)
    if suffix in (".md", ".markdown"):
        return _load_markdown(text)
    return _load_html(text)


def sidecar_metadata(path: Path) -> dict[str, str]:
    """Per-file metadata from ``metadata.json`` beside the file (e.g. the publication)."""
    sidecar = path.parent / METADATA_FILE
    if not sidecar.is_file():
        return {}
    try:
        entries = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IngestError(str(sidecar), f"unreadable metadata file ({exc})") from None
    entry = entries.get(path.name, {}) if isinstance(entries, dict) else {}
    return {k: str(v) for k, v in entry.items() if isinstance(v, (str, int, float))}


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _load_txt(text: str) -> LoadedFile:
    paragraphs = _paragraphs(text)
    blocks = [Block(p) for p in paragraphs]
    title = None
    # A plain-text article often opens with its headline: one short line, no closing full stop.
    first = paragraphs[0]
    if len(paragraphs) > 1 and "\n" not in first and len(first.split()) <= 25 and not first.endswith("."):
        title = first
        blocks[0] = Block(first, "title")
    return LoadedFile(blocks, title=title)


def _load_markdown(text: str) -> LoadedFile:
    front: dict[str, object] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            loaded = None
        front = loaded if isinstance(loaded, dict) else {}
        text = text[match.end() :]
    html = MarkdownIt("commonmark").render(text)
    loaded_html = _load_html(html)
    title = _str_or_none(front.get("title")) or loaded_html.title
    publication = (
        _str_or_none(front.get("publication"))
        or _str_or_none(front.get("source"))
        or _str_or_none(front.get("site"))
    )
    return LoadedFile(loaded_html.blocks, title=title, publication=publication)


def _load_html(html: str) -> LoadedFile:
    soup = BeautifulSoup(html, "lxml")
    title = None
    if soup.title and soup.title.get_text(strip=True):
        title = soup.title.get_text(" ", strip=True)
    site = soup.find("meta", attrs={"property": "og:site_name"})
    publication = _str_or_none(site.get("content")) if isinstance(site, Tag) else None
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    # Inline markup joins without a separator ("<a>repairs</a>." stays "repairs."); <br> is a space.
    for br in soup.find_all("br"):
        br.replace_with(" ")
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks: list[Block] = []
    for element in root.find_all(_BLOCK_TAGS):
        # Only innermost blocks, so nested <li><p> is not read twice.
        if element.find(_BLOCK_TAGS):
            continue
        text = re.sub(r"\s+", " ", element.get_text()).strip()
        if not text:
            continue
        name = element.name
        if name == "figcaption":
            kind = "caption"
        elif name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            kind = "title" if name == "h1" and not blocks else "heading"
        else:
            kind = "body"
        blocks.append(Block(text, kind))
        if kind == "title" and title is None:
            title = text
    if not blocks:
        # Bare text without block tags.
        blocks = [Block(p) for p in _paragraphs(root.get_text("\n\n"))]
    return LoadedFile(blocks, title=title, publication=publication)


def _str_or_none(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
