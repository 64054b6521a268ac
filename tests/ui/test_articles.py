"""The Articles tab's handlers on a real (small) index: upload, limits, bad files, removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.store import ArticleIndex, open_index
from ui.articles import ArticleManager

GOOD = "Lighthouse log\n\nThe Vardoya lighthouse was painted teal in 2031 by keeper Ingrid Solberg.\n"


@pytest.fixture
def index(make_settings) -> ArticleIndex:
    return open_index(make_settings(max_file_bytes=2_000, ui_max_upload_files=3))


@pytest.fixture
def manager(index: ArticleIndex) -> ArticleManager:
    return ArticleManager(index, index.settings)


@pytest.fixture
def incoming(tmp_path: Path) -> Path:
    # Stands in for Gradio's temporary upload folder.
    folder = tmp_path / "gradio-tmp" / "abc123"
    folder.mkdir(parents=True)
    return folder


def write(folder: Path, name: str, data: str | bytes) -> str:
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


def state(manager: ArticleManager) -> tuple[list, set[str], list[str]]:
    index = manager.index
    files = sorted(p.name for p in manager.uploads_dir.glob("*")) if manager.uploads_dir.exists() else []
    return index.documents(), index.catalog.chunk_ids(), files


def test_upload_adds_good_files_and_reports_each_bad_one(manager, incoming) -> None:
    progress: list[tuple[float, str]] = []
    uploads = [
        write(incoming, "lighthouse.txt", GOOD),
        write(incoming, "empty.txt", ""),
        write(incoming, "scan.pdf", b"%PDF-1.4 binary"),
    ]
    outcomes = manager.add(uploads, lambda fraction, desc: progress.append((fraction, desc)))
    assert [(o.name, o.ok) for o in outcomes] == [
        ("lighthouse.txt", True),
        ("empty.txt", False),
        ("scan.pdf", False),
    ]
    assert "added as 'lighthouse'" in outcomes[0].message
    assert "empty" in outcomes[1].message and "unsupported file type '.pdf'" in outcomes[2].message
    assert all("nothing was changed" in o.message for o in outcomes[1:])
    # Messages name the file, never a server path.
    assert not any(str(incoming) in o.message or "uploads" in o.message for o in outcomes)
    docs, _, files = state(manager)
    assert [d.doc_id for d in docs] == ["lighthouse"] and files == ["lighthouse.txt"]
    assert progress[0] == (0.0, "Checking files…") and progress[-1] == (1.0, "Indexed 3 of 3: scan.pdf")
    assert manager.rows()[0][:2] == ("lighthouse", "Lighthouse log")
    assert manager.choices() == [("Lighthouse log (lighthouse)", "lighthouse")]


def test_bad_batches_are_refused_whole(manager, incoming) -> None:
    assert "Choose one or more" in manager.check_batch([])
    too_many = [write(incoming, f"a{i}.txt", GOOD) for i in range(4)]
    assert "at most 3 can be added at once" in manager.check_batch(too_many)
    assert manager.check_batch(too_many[:3]) is None


def test_oversized_binary_and_duplicate_files_change_nothing(manager, incoming) -> None:
    manager.add([write(incoming, "lighthouse.txt", GOOD)])
    before = state(manager)
    other = incoming.parent / "other"
    other.mkdir()
    outcomes = manager.add(
        [
            write(incoming, "huge.txt", "word " * 1_000),
            write(incoming, "lighthouse.md", b"\xff\xfe\x00\x01 not utf-8"),
            write(incoming, "ok.txt", GOOD.replace("teal", "green")),
            write(other, "ok.txt", GOOD),
        ]
    )
    assert [o.ok for o in outcomes] == [False, False, True, False]
    assert "over the 2,000-byte limit" in outcomes[0].message
    assert "already in this upload" in outcomes[3].message
    docs, _, files = state(manager)
    assert sorted(d.doc_id for d in docs) == ["lighthouse", "ok"]
    assert files == ["lighthouse.txt", "ok.txt"]
    assert before[0][0] in docs


def test_a_bad_replacement_keeps_the_old_version(manager, incoming) -> None:
    manager.add([write(incoming, "lighthouse.txt", GOOD)])
    before = state(manager)
    kept = (manager.uploads_dir / "lighthouse.txt").read_bytes()
    outcome = manager.add([write(incoming, "lighthouse.txt", b"\x00\x01\x02 binary")])[0]
    assert not outcome.ok and "lighthouse.txt" in outcome.message
    assert state(manager) == before
    assert (manager.uploads_dir / "lighthouse.txt").read_bytes() == kept


def test_remove_drops_the_article_and_our_copy(manager, incoming) -> None:
    manager.add([write(incoming, "lighthouse.txt", GOOD)])
    outcome = manager.remove("lighthouse")
    assert outcome.ok and "Removed “Lighthouse log”" in outcome.message
    assert state(manager) == ([], set(), [])
    assert not manager.remove("lighthouse").ok
    assert "Choose an article" in manager.remove(None).message
