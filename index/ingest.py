"""Incremental, crash-safe ingest: add, update, remove and sync articles.

Per file: read and clean, chunk and embed (all before touching any store), then journal the
document, write Chroma, commit SQLite in one transaction, tidy Chroma, clear the journal.
An unchanged file (same content hash) costs one read and one hash. A bad file is reported and
leaves the index exactly as it was. Every write holds the index's writer lock, so two ingests
(two CLI runs, a CLI run and a chat upload) take turns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tqdm import tqdm

from index.articles import article_files, load_document
from index.documents import IngestError
from index.store import ArticleIndex

Status = Literal["added", "updated", "unchanged", "removed", "error"]
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class FileResult:
    """What happened to one file or document; ``message`` is one line for people."""

    path: str
    status: Status
    doc_id: str = ""
    chunks: int = 0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "error"


def _printable(name: str) -> str:
    """``name`` safe to show on one line (a file name may hold a newline or undecodable bytes)."""
    return "".join(c if c.isprintable() else "?" for c in name)


class Ingestor:
    def __init__(
        self, index: ArticleIndex, show_progress: bool = True, on_wait: Callable[[], None] | None = None
    ) -> None:
        """``on_wait`` is called once when a write must wait for another ingest to finish."""
        self.index = index
        self.show_progress = show_progress
        self.on_wait = on_wait

    def _write_lock(self) -> AbstractContextManager[None]:
        return self.index.writer_lock.hold(self.on_wait)

    def add_paths(self, paths: Sequence[Path], on_progress: Progress | None = None) -> list[FileResult]:
        """Index each file; one result per file, in order. Interrupts leave the stores in step."""
        results: list[FileResult] = []
        with self._write_lock():
            try:
                bar = tqdm(paths, desc="indexing", unit="file", disable=not self.show_progress)
                for n, path in enumerate(bar):
                    bar.set_postfix_str(_printable(Path(path).name[:40]))
                    results.append(self._add_one(Path(path)))
                    if on_progress:
                        on_progress(n + 1, len(paths), str(path))
            except BaseException:
                # Ctrl-C or a crash mid-write: put Chroma back in step with SQLite now.
                self.index.recover()
                raise
        return results

    def remove(self, doc_id: str) -> FileResult:
        with self._write_lock():
            return self._remove_one(doc_id)

    def sync_folder(self, folder: Path, on_progress: Progress | None = None) -> list[FileResult]:
        """Index every article file in ``folder`` and drop documents whose file has gone."""
        folder = Path(folder)
        if not folder.is_dir():
            return [FileResult(str(folder), "error", message=f"{folder}: no such folder")]
        results = self.add_paths(article_files(folder), on_progress)
        gone = [
            d.doc_id
            for d in self.index.documents()
            if Path(d.path).parent.resolve() == folder.resolve() and not Path(d.path).exists()
        ]
        with self._write_lock():
            results += [self._remove_one(doc_id) for doc_id in gone]
        return results

    def _add_one(self, path: Path) -> FileResult:
        index = self.index
        try:
            doc = load_document(path, index.settings.max_file_bytes, index.fingerprint)
            previous = index.catalog.content_hash(doc.doc_id)
            if previous == doc.content_hash:
                return FileResult(str(path), "unchanged", doc.doc_id, message=f"{path}: unchanged")
            chunks = index.chunker.chunk(doc)
            if not chunks:
                raise IngestError(str(path), "no text to index")
        except IngestError as exc:
            return FileResult(str(path), "error", message=str(exc))
        except OSError as exc:
            return FileResult(str(path), "error", message=f"{path}: cannot read ({exc.strerror})")
        vectors = index.embedder.embed_documents([c.text for c in chunks])

        old_ids = index.catalog.chunk_ids(doc.doc_id)
        index.catalog.mark_pending([doc.doc_id])
        index.vectors.upsert([c.chunk_id for c in chunks], [doc.doc_id] * len(chunks), vectors)
        with index.catalog.transaction() as conn:
            index.catalog.write_document(conn, doc, chunks)
        stale = old_ids - {c.chunk_id for c in chunks}
        if stale:
            index.vectors.delete(sorted(stale))
        index.catalog.clear_pending(doc.doc_id)
        status: Status = "added" if previous is None else "updated"
        return FileResult(
            str(path),
            status,
            doc.doc_id,
            len(chunks),
            f"{path}: {status} as {doc.doc_id!r} ({len(chunks)} chunks)",
        )

    def _remove_one(self, doc_id: str) -> FileResult:
        index = self.index
        info = next((d for d in index.documents() if d.doc_id == doc_id), None)
        if info is None:
            return FileResult(doc_id, "error", doc_id, message=f"{doc_id}: no such document in the index")
        old_ids = index.catalog.chunk_ids(doc_id)
        index.catalog.mark_pending([doc_id])
        with index.catalog.transaction() as conn:
            index.catalog.delete_document(conn, doc_id)
        index.vectors.delete(sorted(old_ids))
        index.catalog.clear_pending(doc_id)
        return FileResult(
            info.path, "removed", doc_id, len(old_ids), f"{doc_id}: removed ({len(old_ids)} chunks)"
        )
