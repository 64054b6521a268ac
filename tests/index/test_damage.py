"""A damaged index is found and named, with how to rebuild it: never a traceback, never an
index that silently answers from one store only. ``index build --rebuild`` repairs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.errors import EXIT_STORE
from core.settings import PROJECT_ROOT, Settings
from index.catalog import Catalog
from index.documents import Chunk, Document
from index.errors import DamagedIndexError
from index.store import CATALOG_FILE, open_index, writer_lock
from index.vector_store import chroma_folder, make_vector_store


def catalog_file(data_dir: Path) -> Path:
    return data_dir / "index" / CATALOG_FILE


def chroma_dir(data_dir: Path) -> Path:
    return data_dir / "index" / "chroma"


def _overwrite(path: Path, data: bytes) -> None:
    path.write_bytes(data)


# Each damage, and the path its message must name.
DAMAGES: dict[str, tuple[Callable[[Path], None], Callable[[Path], Path]]] = {
    "catalog emptied": (lambda d: _overwrite(catalog_file(d), b""), lambda d: d / "index"),
    "catalog overwritten": (
        lambda d: _overwrite(catalog_file(d), os.urandom(catalog_file(d).stat().st_size)),
        catalog_file,
    ),
    "catalog header overwritten": (
        lambda d: _overwrite(catalog_file(d), b"not a database" + catalog_file(d).read_bytes()[14:]),
        catalog_file,
    ),
    "catalog truncated": (
        lambda d: _overwrite(
            catalog_file(d), catalog_file(d).read_bytes()[: catalog_file(d).stat().st_size // 2]
        ),
        catalog_file,
    ),
    "chroma folder deleted": (lambda d: shutil.rmtree(chroma_dir(d)), lambda d: d / "index"),
    "chroma database overwritten": (
        lambda d: _overwrite(chroma_dir(d) / "chroma.sqlite3", os.urandom(200_000)),
        chroma_dir,
    ),
    "chroma database emptied": (
        lambda d: _overwrite(chroma_dir(d) / "chroma.sqlite3", b""),
        lambda d: d / "index",
    ),
}


def run(module: str, args: list[str], data_dir: Path, model_cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        env=os.environ | {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("damage", DAMAGES)
def test_damage_is_reported_with_the_file_and_the_fix(damage: str, copy_data_dir, model_cache: Path) -> None:
    data_dir = copy_data_dir()
    harm, where = DAMAGES[damage]
    harm(data_dir)
    result = run("index", ["stats"], data_dir, model_cache)
    assert result.returncode == EXIT_STORE
    line = one_error_line(result)
    assert str(where(data_dir)) in line and "damaged" in line, line
    assert "python -m index build --rebuild" in line
    assert result.stdout == ""
    with pytest.raises(DamagedIndexError):
        index = open_index(Settings(data_dir=data_dir, cache_dir=model_cache))
        index.check(thorough=True)  # a truncated catalog may open, but a full read finds it


def test_every_entry_point_says_so_and_rebuild_repairs(copy_data_dir, model_cache: Path) -> None:
    data_dir = copy_data_dir()
    DAMAGES["catalog overwritten"][0](data_dir)
    DAMAGES["chroma folder deleted"][0](data_dir)
    # The question is refused before the model would load; the chat does not start.
    for module, args in [("rag", ["ask", "How many people emerged from Baghuz?"]), ("ui", ["--port", "9"])]:
        result = run(module, args, data_dir, model_cache)
        assert result.returncode == EXIT_STORE, (module, result.stderr)
        assert "--rebuild" in one_error_line(result)
    rebuilt = run("index", ["build", "--rebuild"], data_dir, model_cache)
    assert rebuilt.returncode == 0, rebuilt.stderr
    stats = run("index", ["stats", "--json"], data_dir, model_cache)
    assert stats.returncode == 0 and '"documents": 2' in stats.stdout and '"consistent": true' in stats.stdout


def test_rebuild_brings_back_the_chats_uploads(copy_data_dir, model_cache: Path) -> None:
    data_dir = copy_data_dir()
    uploads = Settings(data_dir=data_dir).uploads_dir
    uploads.mkdir()
    (uploads / "lighthouse.txt").write_text("Lighthouse log\n\nThe lighthouse was painted teal in 2031.\n")
    DAMAGES["catalog overwritten"][0](data_dir)
    assert run("index", ["build", "--rebuild"], data_dir, model_cache).returncode == 0
    listed = run("index", ["list"], data_dir, model_cache).stdout
    assert "lighthouse\t" in listed and "guardian-baghuz-final-battle\t" in listed


def _big_index(data_dir: Path, model_cache: Path, n_docs: int = 12, per_doc: int = 100) -> None:
    """An index of 1,200 chunks written through the index's own APIs with random unit vectors:
    enough for Chroma to keep an HNSW segment on disk (it does from 1,000 vectors)."""
    settings = Settings(data_dir=data_dir, cache_dir=model_cache)
    rng = np.random.default_rng(7)
    with writer_lock(settings).hold():
        catalog = Catalog(settings.index_dir / CATALOG_FILE)
        vectors = make_vector_store(settings, settings.embedding_model)
        for d in range(n_docs):
            doc_id = f"doc-{d}"
            texts = [
                f"Paragraph {p} of document {d} about harbour number {d * per_doc + p}."
                for p in range(per_doc)
            ]
            text = "\n\n".join(texts)
            doc = Document(doc_id, f"Document {d}", "synthetic", "", text, f"hash-{d}")
            chunks, start = [], 0
            for p, chunk_text in enumerate(texts):
                chunks.append(Chunk(f"{doc_id}:{p}", doc_id, p, start, start + len(chunk_text), chunk_text))
                start += len(chunk_text) + 2
            unit = rng.standard_normal((per_doc, 384)).astype(np.float32)
            vectors.upsert(
                [c.chunk_id for c in chunks], [doc_id] * per_doc, unit / np.linalg.norm(unit, axis=1)[:, None]
            )
            with catalog.transaction() as conn:
                Catalog.write_document(conn, doc, chunks)
        catalog.close()


@pytest.fixture(scope="module")
def big_data_dir(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    data_dir = tmp_path_factory.mktemp("big") / "data"
    # In another process: this one's Chroma client would keep the collection loaded.
    code = (
        "import sys; from pathlib import Path; from tests.index.test_damage import _big_index;"
        "_big_index(*map(Path, sys.argv[1:]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(data_dir), str(model_cache)],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=600,
    )
    return data_dir


def _segment_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in chroma_folder(Settings(data_dir=data_dir)).glob("*/*.bin") if p.stat().st_size)


def test_a_big_index_is_sound(big_data_dir: Path, model_cache: Path) -> None:
    assert _segment_files(big_data_dir), "Chroma kept no HNSW segment: the tests below would test nothing"
    result = run("index", ["stats", "--json"], big_data_dir, model_cache)
    assert (
        result.returncode == 0
        and '"vectors": 1200' in result.stdout
        and '"consistent": true' in result.stdout
    )


@pytest.mark.parametrize("damage", ["segment deleted", "segment overwritten"])
def test_a_damaged_vector_index_is_found(
    damage: str, big_data_dir: Path, model_cache: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(big_data_dir, data_dir)
    segments = _segment_files(data_dir)
    if damage == "segment deleted":
        shutil.rmtree(segments[0].parent)  # Chroma would answer with too few hits, without an error
    else:
        for path in segments:
            path.write_bytes(os.urandom(path.stat().st_size))
    result = run("index", ["stats"], data_dir, model_cache)
    assert result.returncode == EXIT_STORE
    line = one_error_line(result)
    assert str(chroma_dir(data_dir)) in line and "--rebuild" in line
