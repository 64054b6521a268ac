"""Incremental ingest: idempotence, change, removal, bad input, interrupted writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.catalog import Catalog
from index.ingest import Ingestor
from index.store import ArticleIndex, open_index
from tests.conftest import ARTICLES_DIR


def _snapshot(index: ArticleIndex) -> tuple[set[str], set[str], list]:
    return index.catalog.chunk_ids(), index.vectors.all_ids(), index.documents()


def _assert_in_step(index: ArticleIndex) -> None:
    assert index.catalog.pending() == []
    assert index.catalog.chunk_ids() == index.vectors.all_ids()
    fts = index.catalog.query("SELECT count(*) AS n FROM chunks_fts")[0]["n"]
    assert fts == index.catalog.count_chunks()


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES_DIR, folder)
    return folder


def test_build_then_rebuild_adds_nothing(settings, articles) -> None:
    index = open_index(settings)
    first = Ingestor(index, show_progress=False).sync_folder(articles)
    assert sorted(r.status for r in first) == ["added", "added"]
    assert index.stats().documents == 2 and index.stats().chunks > 10
    _assert_in_step(index)
    before = _snapshot(index)
    again = Ingestor(index, show_progress=False).sync_folder(articles)
    assert [r.status for r in again] == ["unchanged", "unchanged"]
    assert _snapshot(index) == before


def test_changed_file_replaces_exactly_its_chunks(settings, articles) -> None:
    index = open_index(settings)
    ingest = Ingestor(index, show_progress=False)
    ingest.sync_folder(articles)
    spiegel = articles / "spiegel-beaten-but-not-defeated.txt"
    guardian_ids = index.catalog.chunk_ids("guardian-baghuz-final-battle")
    old_ids = index.catalog.chunk_ids("spiegel-beaten-but-not-defeated")
    spiegel.write_text(spiegel.read_text() + "\n\nThe camp was visited by a zebra named Ferdinand.\n")
    results = ingest.sync_folder(articles)
    assert {r.doc_id: r.status for r in results} == {
        "guardian-baghuz-final-battle": "unchanged",
        "spiegel-beaten-but-not-defeated": "updated",
    }
    new_ids = index.catalog.chunk_ids("spiegel-beaten-but-not-defeated")
    assert not (old_ids & new_ids)
    assert not (old_ids & index.vectors.all_ids())
    assert index.catalog.chunk_ids("guardian-baghuz-final-battle") == guardian_ids
    assert index.lexical_search("zebra Ferdinand", 3)[0].chunk_id in new_ids
    _assert_in_step(index)


def test_removed_file_and_remove_command(settings, articles) -> None:
    index = open_index(settings)
    ingest = Ingestor(index, show_progress=False)
    ingest.sync_folder(articles)
    (articles / "spiegel-beaten-but-not-defeated.txt").unlink()
    results = ingest.sync_folder(articles)
    assert [r.status for r in results if r.doc_id.startswith("spiegel")] == ["removed"]
    assert [d.doc_id for d in index.documents()] == ["guardian-baghuz-final-battle"]
    _assert_in_step(index)
    assert ingest.remove("guardian-baghuz-final-battle").status == "removed"
    assert index.is_empty() and index.vectors.count() == 0
    assert ingest.remove("guardian-baghuz-final-battle").status == "error"


def test_bad_files_leave_the_index_as_it_was(settings, articles, tmp_path) -> None:
    index = open_index(settings)
    ingest = Ingestor(index, show_progress=False)
    ingest.sync_folder(articles)
    before = _snapshot(index)
    bad = {
        "empty.txt": b"",
        "binary.txt": b"\x00\x01\x02binary",
        "latin1.txt": "na\u00efve".encode("latin-1"),
        "sheet.xlsx": b"PK\x03\x04",
        "huge.txt": b"x" * (settings.max_file_bytes + 1),
    }
    paths = []
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    paths.append(tmp_path / "missing.txt")
    results = ingest.add_paths(paths)
    assert all(r.status == "error" for r in results)
    assert all(str(p) in r.message and "\n" not in r.message for p, r in zip(paths, results, strict=True))
    assert _snapshot(index) == before


def test_interrupt_between_chroma_and_sqlite_leaves_stores_in_step(settings, articles, monkeypatch) -> None:
    index = open_index(settings)
    ingest = Ingestor(index, show_progress=False)
    ingest.sync_folder(articles)
    spiegel = articles / "spiegel-beaten-but-not-defeated.txt"
    spiegel.write_text(spiegel.read_text() + "\n\nA new closing paragraph about a xylophone.\n")

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Catalog, "write_document", staticmethod(interrupted))
    with pytest.raises(KeyboardInterrupt):
        ingest.add_paths([spiegel])
    monkeypatch.undo()
    # The old version is still served, and Chroma holds nothing of the half-written new one.
    _assert_in_step(index)
    assert not index.lexical_search("xylophone", 3)
    assert ingest.add_paths([spiegel])[0].status == "updated"
    _assert_in_step(index)


def test_hard_crash_is_repaired_when_the_index_is_next_opened(settings, articles, monkeypatch) -> None:
    index = open_index(settings)
    ingest = Ingestor(index, show_progress=False)
    ingest.sync_folder(articles)
    spiegel = articles / "spiegel-beaten-but-not-defeated.txt"
    spiegel.write_text(spiegel.read_text() + "\n\nA late paragraph.\n")
    # A crash that gives no chance to clean up: the in-process repair does not run either.
    monkeypatch.setattr(ArticleIndex, "recover", lambda self: [])
    monkeypatch.setattr(Catalog, "write_document", staticmethod(lambda *a: (_ for _ in ()).throw(SystemExit)))
    with pytest.raises(SystemExit):
        ingest.add_paths([spiegel])
    assert index.catalog.pending() == ["spiegel-beaten-but-not-defeated"]
    assert index.vectors.all_ids() != index.catalog.chunk_ids()
    monkeypatch.undo()
    reopened = open_index(settings)
    _assert_in_step(reopened)
