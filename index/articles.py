"""From a file path to a cleaned :class:`Document` with a stable id, title and publication."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from index.cleaning import clean_blocks
from index.documents import Document, IngestError
from index.loaders import SUPPORTED_SUFFIXES, load_file, read_text, sidecar_metadata


def doc_id_for(path: Path) -> str:
    """A stable id from the file name: re-adding the same file name replaces that article."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    return slug or "article"


def title_from_filename(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name


def load_document(path: Path, max_bytes: int, fingerprint: str = "") -> Document:
    """Read, parse and clean one article file.

    ``fingerprint`` describes the chunking settings; it is folded into the content hash so that a
    settings change re-indexes a document even when its bytes are unchanged.
    """
    path = Path(path)
    text = read_text(path, max_bytes)
    loaded = load_file(path, text)
    meta = sidecar_metadata(path)
    cleaned = clean_blocks(loaded.blocks)
    if not cleaned.text.strip():
        raise IngestError(str(path), "no article text left after removing boilerplate")
    digest = hashlib.sha256()
    digest.update(text.encode("utf-8"))
    digest.update(json.dumps(meta, sort_keys=True).encode("utf-8"))
    digest.update(fingerprint.encode("utf-8"))
    return Document(
        doc_id=doc_id_for(path),
        title=meta.get("title") or loaded.title or title_from_filename(path),
        publication=meta.get("publication") or loaded.publication or cleaned.publication or "unknown",
        path=str(path),
        text=cleaned.text,
        content_hash=digest.hexdigest(),
        sections=cleaned.sections,
    )


def article_files(folder: Path) -> list[Path]:
    """The supported article files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
