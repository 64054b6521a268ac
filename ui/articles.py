"""The Articles tab: upload files into the index, list what is indexed, remove an article.

Uploaded files are kept under ``<data_dir>/uploads`` (the catalog records each document's path;
Gradio's own upload folder is temporary). A file that cannot be indexed is reported and leaves
both the index and the uploads folder exactly as they were.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from index.ingest import FileResult, Ingestor
from index.store import ArticleIndex

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Outcome:
    """One line of the upload report: the file's name (never a server path) and what happened."""

    name: str
    ok: bool
    message: str
    doc_id: str = ""


def _name_of(upload: object) -> Path:
    # Gradio hands over file paths (str) or objects with a .name holding the path.
    return Path(str(getattr(upload, "name", upload)))


class ArticleManager:
    def __init__(self, index: ArticleIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self.ingestor = Ingestor(index, show_progress=False)
        self.uploads_dir = settings.uploads_dir

    # --- listing ------------------------------------------------------------------------------
    def rows(self) -> list[tuple[str, str, str, int, int]]:
        return [
            (d.doc_id, d.title, d.publication, d.n_chunks, d.n_chars)
            for d in sorted(self.index.documents(), key=lambda d: d.title.lower())
        ]

    def choices(self) -> list[tuple[str, str]]:
        """(label, doc_id) pairs for the remove dropdown."""
        return [(f"{title} ({doc_id})", doc_id) for doc_id, title, *_ in self.rows()]

    # --- upload -------------------------------------------------------------------------------
    def check_batch(self, uploads: Sequence[object] | None) -> str | None:
        """Why this batch is refused as a whole (too many files, none), or None."""
        if not uploads:
            return "Choose one or more .txt, .md or .html files first."
        limit = self.settings.ui_max_upload_files
        if len(uploads) > limit:
            return f"You chose {len(uploads)} files; at most {limit} can be added at once. Nothing was added."
        return None

    def add(self, uploads: Sequence[object], progress: Progress | None = None) -> list[Outcome]:
        """Index the uploaded files; one outcome per file, in order."""
        report = progress or (lambda fraction, desc: None)
        outcomes: dict[int, Outcome] = {}
        staged: list[tuple[int, Path, Path, bytes | None]] = []  # (slot, source, target, backup)
        seen: set[str] = set()
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        report(0.0, "Checking files…")
        for slot, upload in enumerate(uploads):
            source = _name_of(upload)
            name = source.name
            refusal = self._precheck(source, name, seen)
            if refusal:
                shown = name if name.isprintable() else repr(name)[1:-1]  # one line, whatever the name
                outcomes[slot] = Outcome(shown, False, f"{shown}: {refusal}; nothing was changed")
                continue
            seen.add(name.lower())
            target = self.uploads_dir / name
            backup = target.read_bytes() if target.is_file() else None
            shutil.copyfile(source, target)
            staged.append((slot, source, target, backup))

        total = len(staged)

        def on_progress(done: int, _total: int, path: str) -> None:
            report(done / max(total, 1), f"Indexed {done} of {total}: {Path(path).name}")

        def on_wait() -> None:
            report(0.0, "Waiting for another ingest to finish…")

        ingestor = Ingestor(self.index, show_progress=False, on_wait=on_wait)
        results: list[FileResult] = []
        try:
            if staged:
                report(0.0, f"Indexing {total} file{'s' if total != 1 else ''}…")
                results = ingestor.add_paths([target for _, _, target, _ in staged], on_progress)
        finally:
            done = {Path(r.path) for r in results if r.ok}
            for _, _, target, backup in staged:
                if target not in done:
                    self._restore(target, backup)
        for (slot, _source, target, _backup), result in zip(staged, results, strict=True):
            message = result.message.replace(str(target), target.name)
            if not result.ok:
                message += "; nothing was changed"
            outcomes[slot] = Outcome(target.name, result.ok, message, result.doc_id)
        return [outcomes[slot] for slot in sorted(outcomes)]

    def _precheck(self, source: Path, name: str, seen: set[str]) -> str | None:
        # The ingestor checks type, encoding and content; these checks guard the uploads folder.
        if not name or name.startswith(".") or not name.isprintable():  # (lone surrogates are not)
            return "not a usable file name"
        if name.lower() in seen:
            return "a file with this name is already in this upload"
        if not source.is_file():
            return "the upload did not arrive"
        size = source.stat().st_size
        if size > self.settings.max_file_bytes:
            return f"file is {size:,} bytes, over the {self.settings.max_file_bytes:,}-byte limit"
        return None

    @staticmethod
    def _restore(target: Path, backup: bytes | None) -> None:
        if backup is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(backup)

    # --- removal ------------------------------------------------------------------------------
    def remove(self, doc_id: str | None) -> Outcome:
        if not doc_id:
            return Outcome("", False, "Choose an article to remove first.")
        info = next((d for d in self.index.documents() if d.doc_id == doc_id), None)
        result = self.ingestor.remove(doc_id)
        if result.ok and info is not None:
            path = Path(info.path)
            # Only our own copies are deleted; the shipped articles folder is never touched.
            if path.parent.resolve() == self.uploads_dir.resolve():
                path.unlink(missing_ok=True)
        message = f"Removed “{info.title}” ({doc_id})." if result.ok and info else result.message
        return Outcome(doc_id, result.ok, message, doc_id)
