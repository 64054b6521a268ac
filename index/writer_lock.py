"""One writer at a time for an index, across threads and processes: an advisory file lock.

Every write (build, add, remove, upload, journal recovery) holds it. Readers never take it, so
they never wait for a writer; SQLite's WAL mode lets them read while a write is in progress.
Because the lock belongs to a live process (the kernel drops it when the process dies, even on
``kill -9``), "nobody holds it" means no write is in flight, and only then may the journal of an
interrupted write be replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from index.errors import IndexBusyError

LOCK_FILE = "write.lock"


class WriterLock:
    """The writer lock of the index in ``index_dir``; re-entrant within a thread."""

    def __init__(self, index_dir: Path, wait_s: float) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / LOCK_FILE
        self.wait_s = wait_s
        # One lock object per file in a process, each thread with its own hold: a second thread
        # (another chat upload) waits like a second process would.
        self._lock = FileLock(self.path, is_singleton=True, thread_local=True)

    @contextmanager
    def hold(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the lock, waiting up to ``wait_s`` for another writer (``on_wait`` says so once)."""
        try:
            self._lock.acquire(blocking=False)
        except Timeout:
            if on_wait is not None:
                on_wait()
            try:
                self._lock.acquire(timeout=self.wait_s)
            except Timeout:
                raise IndexBusyError(
                    f"another ingest is running (it holds {self.path}) and did not finish within "
                    f"{self.wait_s:g} s; try again when it has finished, or raise RAG_INDEX_LOCK_WAIT_S"
                ) from None
        try:
            yield
        finally:
            self._lock.release()

    @contextmanager
    def try_hold(self) -> Iterator[bool]:
        """Hold the lock if no one else does (yields True), else go on without it (False)."""
        try:
            self._lock.acquire(blocking=False)
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            self._lock.release()
