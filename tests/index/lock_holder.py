"""A second process that holds an index's writer lock until told to stop, for the lock tests.

``python -m tests.index.lock_holder DATA_DIR MODE``; prints ``ready`` once in place, then waits
for a line on stdin (or its end) and exits. Modes:

- ``hold``: only the lock;
- ``in-flight``: the lock and a write in progress, as ``Ingestor`` leaves it between Chroma and
  SQLite: document ``in-flight`` journalled as pending, its vector in Chroma, no catalog rows;
- ``open-transaction``: the lock and an uncommitted SQLite write transaction on the catalog.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.settings import PROJECT_ROOT, Settings
from index.catalog import Catalog
from index.store import CATALOG_FILE, writer_lock
from index.vector_store import make_vector_store

IN_FLIGHT_DOC = "in-flight"


@contextmanager
def lock_holder(data_dir: Path, mode: str) -> Iterator[subprocess.Popen]:
    """``tests/index/lock_holder.py`` in its own process, in place (``ready``) until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.index.lock_holder", str(data_dir), mode],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line == "ready\n", proc.stderr.read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.stdin.close()
            proc.wait(timeout=60)


def main(data_dir: Path, mode: str) -> None:
    settings = Settings(data_dir=data_dir)
    with writer_lock(settings).hold():
        catalog = Catalog(settings.index_dir / CATALOG_FILE)
        if mode == "in-flight":
            catalog.mark_pending([IN_FLIGHT_DOC])
            vector = np.ones((1, 384), dtype=np.float32) / np.sqrt(384)
            make_vector_store(settings, settings.embedding_model).upsert(
                [f"{IN_FLIGHT_DOC}:0"], [IN_FLIGHT_DOC], vector
            )
        elif mode == "open-transaction":
            with catalog.transaction() as conn:
                conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('uncommitted', 'yes')")
                print("ready", flush=True)
                sys.stdin.readline()
                raise SystemExit(0)  # rolls the transaction back: the index is left as it was
        print("ready", flush=True)
        sys.stdin.readline()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
