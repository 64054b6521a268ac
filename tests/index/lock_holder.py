"""A second process that holds an index's writer lock until told to stop, for the lock tests.

``python -m tests.index.lock_holder DATA_DIR MODE``; prints ``ready`` once in place, then waits
for a line on stdin (or its end) and exits. Modes:

- ``hold``: only the lock;
- ``in-flight``: the lock and a write in progress, as ``Ingestor`` leaves it between Chroma and
  SQLite: document ``in-flight`` journalled as pending, its vector in Chroma, no catalog rows;
- ``open-transaction``: the lock and an uncommitted SQLite write transaction on the catalog.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from core.settings import Settings
from index.catalog import Catalog
from index.store import CATALOG_FILE, writer_lock
from index.vector_store import make_vector_store

IN_FLIGHT_DOC = "in-flight"


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
