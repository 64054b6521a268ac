"""The Articles tab with any uploaded file (hypothesis), on a real index: a file is added (in
both stores, in step) or refused with one line, and a refused upload changes nothing, neither
the index nor the uploads folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from core.settings import Settings
from index.store import open_index
from tests.fuzz import IN_PROCESS_EXAMPLES
from ui.articles import ArticleManager

MAX_BYTES = 400
contents = st.one_of(
    st.binary(max_size=MAX_BYTES + 50),
    st.text(max_size=MAX_BYTES).map(str.encode),
    st.text(max_size=60).map(lambda t: f"<html><title>{t}</title><body><p>{t}</p></body></html>".encode()),
    st.text(max_size=60).map(lambda t: f"---\ntitle: {t}\n---\n# {t}\n\n{t}\n".encode()),
)
names = st.tuples(
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12),
    st.sampled_from([".txt", ".md", ".html", ".png", ""]),
).map("".join)


@pytest.fixture
def manager(copy_data_dir, model_cache: Path) -> ArticleManager:
    settings = Settings(data_dir=copy_data_dir(), cache_dir=model_cache, max_file_bytes=MAX_BYTES)
    return ArticleManager(open_index(settings), settings)


def state(manager: ArticleManager) -> tuple:
    index = manager.index
    documents = sorted((d.doc_id, d.content_hash) for d in index.documents())
    uploads = sorted(p.name for p in manager.uploads_dir.iterdir()) if manager.uploads_dir.exists() else []
    return documents, index.catalog.pending(), index.catalog.chunk_ids(), index.vectors.all_ids(), uploads


@IN_PROCESS_EXAMPLES
@given(data=contents, name=names)
@example(data=b"\x00\x01binary", name="binary.txt")
@example(data="na\u00efve".encode("latin-1"), name="latin1.txt")
@example(data=b"x" * (MAX_BYTES + 1), name="huge.txt")
@example(data=b"Harbour notes\n\nThe ferry carries 412 passengers.\n", name="a\nb.txt")
@example(data=b"Harbour notes\n\nThe ferry carries 412 passengers.\n", name="ferry.txt")
def test_any_upload_is_added_or_changes_nothing(
    manager: ArticleManager, data: bytes, name: str, tmp_path
) -> None:
    incoming = Path(tempfile.mkdtemp(dir=tmp_path))  # stands in for Gradio's upload folder
    path = incoming / name
    path.write_bytes(data)
    before = state(manager)
    [outcome] = manager.add([str(path)])
    assert "\n" not in outcome.message and outcome.message
    if not outcome.ok:
        event("refused")
        assert "nothing was changed" in outcome.message
        assert state(manager) == before
        return
    event("added")
    documents, pending, chunk_ids, vector_ids, uploads = state(manager)
    assert pending == [] and chunk_ids == vector_ids and outcome.doc_id in dict(documents)
    assert name in uploads
    removed = manager.remove(outcome.doc_id)
    assert removed.ok, removed.message
    assert state(manager) == before
