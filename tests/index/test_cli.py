"""`python -m index` as a user runs it: a fresh data folder, real output, real exit codes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings
from index.store import open_index


def _run(args: list[str], env_extra: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    env = os.environ | env_extra
    return subprocess.run(
        [sys.executable, "-m", "index", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_build_list_stats_in_an_empty_data_dir(tmp_path: Path, model_cache: Path) -> None:
    env = {"RAG_DATA_DIR": str(tmp_path / "fresh"), "RAG_CACHE_DIR": str(model_cache)}
    built = _run(["build"], env)
    assert built.returncode == 0, built.stderr
    assert "2 documents" in built.stdout
    listed = _run(["list"], env)
    assert "guardian-baghuz-final-battle\tThe Guardian" in listed.stdout
    assert "spiegel-beaten-but-not-defeated\tDER SPIEGEL" in listed.stdout
    stats = json.loads(_run(["stats", "--json"], env).stdout)
    assert stats["documents"] == 2 and stats["chunks"] == stats["vectors"] > 10 and stats["consistent"]
    again = _run(["build"], env)
    assert again.stdout.count("unchanged") == 2


def test_add_bad_file_prints_one_line_and_exits_nonzero(tmp_path: Path, model_cache: Path) -> None:
    env = {"RAG_DATA_DIR": str(tmp_path / "d"), "RAG_CACHE_DIR": str(model_cache)}
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG")
    result = _run(["add", str(bad)], env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {bad}: unsupported file type '.png'; use .txt, .md or .html"]


def test_remove_unknown_document(tmp_path: Path, model_cache: Path) -> None:
    env = {"RAG_DATA_DIR": str(tmp_path / "d"), "RAG_CACHE_DIR": str(model_cache)}
    result = _run(["remove", "no-such-doc"], env)
    assert result.returncode == 1 and "no such document" in result.stderr


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    result = _run(["list"], {"RAG_DATA_DIR": str(tmp_path), "RAG_CHUNK_SIZE_TOKENS": "lots"})
    assert result.returncode == 2 and "bad settings" in result.stderr and "Traceback" not in result.stderr


def _count_documents(catalog: Path) -> int:
    try:
        with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_killed_mid_ingest_leaves_a_consistent_index(tmp_path: Path, model_cache: Path) -> None:
    """SIGKILL (no clean-up at all) part-way through a long ingest; the next open repairs it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentences = (PROJECT_ROOT / "data/articles/guardian-baghuz-final-battle.txt").read_text().split(". ")
    for n in range(40):
        rotated = sentences[n:] + sentences[:n]
        (corpus / f"doc{n:03}.txt").write_text(". ".join(rotated), encoding="utf-8")
    data = tmp_path / "d"
    env = os.environ | {"RAG_DATA_DIR": str(data), "RAG_CACHE_DIR": str(model_cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "index", "add", *sorted(map(str, corpus.iterdir()))],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until some documents are in, then kill without warning.
    catalog = data / "index" / "catalog.sqlite3"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if catalog.exists() and _count_documents(catalog) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    index = open_index(Settings(data_dir=data, cache_dir=model_cache))
    assert index.catalog.pending() == []
    assert index.catalog.chunk_ids() == index.vectors.all_ids()
    assert 0 < len(index.documents()) < 40
