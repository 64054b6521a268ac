"""The writer lock across real processes: recovery leaves a live writer's work alone, a second
writer waits (or says another ingest is running), readers never wait for a writer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.errors import EXIT_BUSY
from core.settings import PROJECT_ROOT, Settings
from index.catalog import Catalog
from index.ingest import Ingestor
from index.store import CATALOG_FILE, open_index
from index.vector_store import make_vector_store
from tests.index.lock_holder import IN_FLIGHT_DOC, lock_holder


def index_cli(args: list[str], data_dir: Path, model_cache: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "index", *args],
        cwd=PROJECT_ROOT,
        env=os.environ | {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def stores(settings: Settings) -> tuple[list[str], set[str], set[str]]:
    """(pending, catalog chunk ids, Chroma ids), read without opening the index (which recovers)."""
    catalog = Catalog(settings.index_dir / CATALOG_FILE)
    try:
        vectors = make_vector_store(settings, settings.embedding_model)
        return catalog.pending(), catalog.chunk_ids(), vectors.all_ids()
    finally:
        catalog.close()


def test_opening_the_index_leaves_a_live_writers_work_alone(copy_data_dir, model_cache: Path) -> None:
    data_dir = copy_data_dir()
    settings = Settings(data_dir=data_dir, cache_dir=model_cache)
    with lock_holder(data_dir, "in-flight"):
        index = open_index(settings)  # what `index stats`, `rag ask` and the chat do first
        pending, chunk_ids, vector_ids = stores(settings)
        assert pending == [IN_FLIGHT_DOC]
        assert f"{IN_FLIGHT_DOC}:0" in vector_ids and f"{IN_FLIGHT_DOC}:0" not in chunk_ids
        # A reader never sees the uncommitted document.
        assert all(h.chunk_id in chunk_ids for h in index.dense_search("anything", 50))
        stats = json.loads(index_cli(["stats", "--json"], data_dir, model_cache).stdout)
        assert stats["pending"] == 1 and not stats["consistent"]
    # The writer died with its document half-written: now the next open repairs it.
    open_index(settings)
    pending, chunk_ids, vector_ids = stores(settings)
    assert pending == [] and chunk_ids == vector_ids


def test_a_killed_writer_frees_the_lock_and_its_journal_is_replayed(copy_data_dir, model_cache) -> None:
    data_dir = copy_data_dir()
    settings = Settings(data_dir=data_dir, cache_dir=model_cache)
    with lock_holder(data_dir, "in-flight") as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    result = index_cli(["stats", "--json"], data_dir, model_cache)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["consistent"] and stats["pending"] == 0
    assert stores(settings)[0] == []


def test_a_second_writer_says_another_ingest_is_running(copy_data_dir, model_cache, tmp_path) -> None:
    data_dir = copy_data_dir()
    settings = Settings(data_dir=data_dir, cache_dir=model_cache)
    article = tmp_path / "lighthouse.txt"
    article.write_text(
        "Lighthouse log\n\nThe Vardoya lighthouse was painted teal in 2031.\n", encoding="utf-8"
    )
    before = stores(settings)
    with lock_holder(data_dir, "hold"):
        result = index_cli(["add", str(article)], data_dir, model_cache, RAG_INDEX_LOCK_WAIT_S="1")
    assert result.returncode == EXIT_BUSY
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "another ingest is running" in errors[0]
    assert "Traceback" not in result.stderr
    assert "waiting for another ingest to finish" in result.stderr
    assert stores(settings) == before


def test_a_second_writer_waits_for_the_first(copy_data_dir, model_cache, tmp_path) -> None:
    data_dir = copy_data_dir()
    article = tmp_path / "lighthouse.txt"
    article.write_text(
        "Lighthouse log\n\nThe Vardoya lighthouse was painted teal in 2031.\n", encoding="utf-8"
    )
    env = os.environ | {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache)}
    with lock_holder(data_dir, "hold"):
        writer = subprocess.Popen(
            [sys.executable, "-m", "index", "add", str(article)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # It says it waits, then waits (it cannot finish while the lock is held).
        assert writer.stderr.readline() == "waiting for another ingest to finish…\n"
        assert writer.poll() is None
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert "added as 'lighthouse'" in out


def test_readers_do_not_wait_for_an_open_write_transaction(copy_data_dir, model_cache: Path) -> None:
    data_dir = copy_data_dir()
    with lock_holder(data_dir, "open-transaction") as holder:
        # The holder waits for us forever: if reading blocked on its transaction, this would time out.
        listed = index_cli(["list"], data_dir, model_cache)
        stats = index_cli(["stats", "--json"], data_dir, model_cache)
        assert holder.poll() is None
    assert listed.returncode == 0 and "guardian-baghuz-final-battle" in listed.stdout
    assert stats.returncode == 0 and json.loads(stats.stdout)["documents"] == 2


def test_threads_of_one_process_take_turns(settings, tmp_path) -> None:
    """The chat's upload handlers run in threads: they must not write at once either."""
    index = open_index(settings)
    files = []
    for n in range(4):
        path = tmp_path / f"note-{n}.txt"
        path.write_text(f"Note {n}\n\nThe harbour of Tromso number {n} has {n + 3} cranes.\n", "utf-8")
        files.append(path)
    results: dict[int, list] = {}
    guard = threading.Lock()
    writing = {"now": 0, "most": 0}

    class Watching(Ingestor):
        def _add_one(self, path: Path):  # type: ignore[no-untyped-def]
            with guard:
                writing["now"] += 1
                writing["most"] = max(writing["most"], writing["now"])
            try:
                time.sleep(0.2)  # long enough for the other thread to get here, were it let in
                return super()._add_one(path)
            finally:
                with guard:
                    writing["now"] -= 1

    def add(n: int) -> None:
        results[n] = Watching(index, show_progress=False).add_paths(files[2 * n : 2 * n + 2])

    threads = [threading.Thread(target=add, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status == "added" for rs in results.values() for r in rs)
    assert writing["most"] == 1
    pending, chunk_ids, vector_ids = stores(settings)
    assert pending == [] and chunk_ids == vector_ids and len(index.documents()) == 4
