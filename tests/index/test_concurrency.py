"""Two ingests and a reader at once against one data folder, as users would run them: real
``python -m index`` processes, 20 rounds. Afterwards the SQLite catalog and Chroma agree, nothing
is left journalled, and no document is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings
from index.catalog import Catalog
from index.store import CATALOG_FILE
from index.vector_store import make_vector_store
from tests.conftest import ARTICLES_DIR

ROUNDS = 20
SENTENCES = (ARTICLES_DIR / "guardian-baghuz-final-battle.txt").read_text(encoding="utf-8").split(". ")[1:40]


def article(path: Path, n: int, marker: str) -> Path:
    """A short article of its own (three sentences and a unique marker word)."""
    body = ". ".join(SENTENCES[(n + k) % len(SENTENCES)] for k in range(3))
    path.write_text(f"Dispatch {n}\n\n{body}. The code word is {marker}.\n", encoding="utf-8")
    return path


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "index", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_ingests_and_a_reader_at_once_lose_nothing(copy_data_dir, model_cache: Path, tmp_path) -> None:
    data_dir = copy_data_dir()
    settings = Settings(data_dir=data_dir, cache_dir=model_cache)
    env = os.environ | {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache)}
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    expected = {"guardian-baghuz-final-battle", "spiegel-beaten-but-not-defeated"}
    markers: dict[str, str] = {}
    waited = 0
    started = time.monotonic()
    for r in range(ROUNDS):
        first = [article(corpus / f"r{r:02}-a{k}.txt", 4 * r + k, f"alpha{r}x{k}") for k in range(2)]
        second = [article(corpus / f"r{r:02}-b{k}.txt", 4 * r + 2 + k, f"bravo{r}x{k}") for k in range(2)]
        if r:  # the second writer also replaces an article of the round before
            second.append(article(corpus / f"r{r - 1:02}-a0.txt", 4 * r + 7, f"changed{r}"))
        procs = [start(["add", *map(str, first)], env), start(["add", *map(str, second)], env)]
        reader = start(["stats", "--json"], env)
        for proc in [*procs, reader]:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0 and "Traceback" not in err, f"round {r}: {proc.args}\n{err}"
            if proc is reader:
                seen = json.loads(out)
                # The reader sees a committed state: at least the documents of the rounds before.
                assert seen["documents"] >= len(expected), f"round {r}: {seen}"
            else:
                waited += "waiting for another ingest to finish" in err
        expected |= {f"r{r:02}-a{k}" for k in range(2)} | {f"r{r:02}-b{k}" for k in range(2)}
        markers |= {f"r{r:02}-a{k}": f"alpha{r}x{k}" for k in range(2)}
        markers |= {f"r{r:02}-b{k}": f"bravo{r}x{k}" for k in range(2)}
        if r:
            markers[f"r{r - 1:02}-a0"] = f"changed{r}"
        _assert_stores_agree(settings, expected, markers, f"round {r}")
    elapsed = time.monotonic() - started
    print(f"{ROUNDS} rounds in {elapsed:.0f} s; {waited} of {2 * ROUNDS} writer runs waited for the lock")
    # The rounds really overlapped: some writer had to wait for the lock.
    assert waited > 0


def _assert_stores_agree(settings: Settings, expected: set[str], markers: dict[str, str], where: str) -> None:
    # Read both stores directly: opening the index would replay a leftover journal and hide it.
    catalog = Catalog(settings.index_dir / CATALOG_FILE)
    try:
        assert catalog.pending() == [], where
        assert {d.doc_id for d in catalog.documents()} == expected, where
        chunk_ids = catalog.chunk_ids()
        assert chunk_ids == make_vector_store(settings, settings.embedding_model).all_ids(), where
        fts = catalog.query("SELECT count(*) AS n FROM chunks_fts")[0]["n"]
        assert fts == len(chunk_ids), where
        for doc_id, marker in markers.items():
            doc = catalog.document(doc_id)
            assert doc is not None and marker in doc.text, f"{where}: {doc_id} lacks {marker}"
    finally:
        catalog.close()
