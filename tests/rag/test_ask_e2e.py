"""`python -m rag ask` with the real model, where it meets a terminal: bytes that are not UTF-8 on
stdin in the interactive chat, and its answer piped into a reader that has gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import EXIT_BROKEN_PIPE
from core.settings import PROJECT_ROOT
from tests.fuzz import assert_quiet_end, into_closed_pipe

pytestmark = pytest.mark.slow  # each test loads the model


def test_interactive_chat_refuses_bytes_that_are_not_utf8_and_goes_on(
    copy_data_dir, model_cache: Path
) -> None:
    env = os.environ | {"RAG_DATA_DIR": str(copy_data_dir()), "RAG_CACHE_DIR": str(model_cache)}
    result = subprocess.run(
        [sys.executable, "-m", "rag", "ask"],
        cwd=PROJECT_ROOT,
        env=env,
        input=b"\xff\xfe\nring \x07 the bell?\n\n",  # two bad questions, then an empty line to quit
        capture_output=True,
        timeout=600,
    )
    stderr = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.strip()] == [
        "error: The question is not valid UTF-8 text (it holds bytes of another encoding); "
        "please type it again.",
        "error: The question holds a control character ('\\x07'); please type it again.",
    ]
    assert result.stdout.decode().startswith("Ask about the articles.")


def test_an_answer_into_a_closed_pipe_ends_quietly(copy_data_dir, model_cache: Path) -> None:
    env = {"RAG_DATA_DIR": str(copy_data_dir()), "RAG_CACHE_DIR": str(model_cache)}
    result = into_closed_pipe(["rag", "ask", "How many people emerged from Baghuz?"], env)
    assert_quiet_end(result)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert "error" not in result.stderr
