"""A damaged chat store (chat.sqlite3 overwritten) is one line naming the file, from the chat's
start and from the feedback export, before the model loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import EXIT_STORE, StoreError
from core.settings import PROJECT_ROOT
from ui.chat_store import ChatStore


def damaged(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 500)
    return path


def test_opening_a_damaged_chat_store_says_which_file(tmp_path: Path) -> None:
    path = damaged(tmp_path / "chat.sqlite3")
    with pytest.raises(StoreError, match="move it away") as info:
        ChatStore(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("args", [["--export-feedback", "out.jsonl"], ["--port", "9"]])
def test_the_chat_cli_reports_it_in_one_line(args: list[str], copy_data_dir, model_cache: Path) -> None:
    data_dir = copy_data_dir()
    path = damaged(data_dir / "chat.sqlite3")
    result = subprocess.run(
        [sys.executable, "-m", "ui", *args],
        cwd=PROJECT_ROOT,
        env=os.environ | {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == EXIT_STORE
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the chat store") and str(path) in lines[0]
    assert "Loading the answer engine" not in result.stdout  # found before the model loads
