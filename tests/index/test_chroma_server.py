"""The scale path: the same index against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import pytest

from index.ingest import Ingestor
from index.store import open_index
from index.vector_store import VectorStoreError
from tests.conftest import ARTICLES_DIR
from tests.servers import chroma_server, free_port


def test_build_and_search_against_a_chroma_server(make_settings, tmp_path) -> None:
    with chroma_server(tmp_path / "chroma-server") as port:
        settings = make_settings(chroma_host="127.0.0.1", chroma_port=port)
        index = open_index(settings)
        results = Ingestor(index, show_progress=False).sync_folder(ARTICLES_DIR)
        assert [r.status for r in results] == ["added", "added"]
        stats = index.stats()
        assert stats.vector_store == f"chroma server 127.0.0.1:{port}"
        assert stats.vectors == stats.chunks and stats.consistent
        # Nothing went to an embedded store on local disk.
        assert not (settings.index_dir / "chroma").exists()
        # Searching with a chunk's own text finds that chunk first, served by the server.
        target = index.document_chunks("guardian-baghuz-final-battle")[5]
        hits = index.dense_search(target.text, 5)
        assert hits[0].chunk_id == target.chunk_id and hits[0].score > 0.99
        # A second process-level open sees the same server-side collection; re-ingest is a no-op.
        again = Ingestor(open_index(settings), show_progress=False).sync_folder(ARTICLES_DIR)
        assert [r.status for r in again] == ["unchanged", "unchanged"]


def test_unreachable_server_is_a_clear_error(make_settings) -> None:
    port = free_port()
    with pytest.raises(VectorStoreError, match=f"cannot reach the Chroma server at 127.0.0.1:{port}"):
        open_index(make_settings(chroma_host="127.0.0.1", chroma_port=port))
