"""`python -m rag ask` where it meets a terminal: bytes that are not UTF-8 on stdin in the
interactive chat, and its output piped into a reader that has gone.

The questions here never reach a model, so the CLI is pointed at an endpoint backend (built
without being contacted) instead of loading the embedded model; answering for real through the
CLI is tested in ``test_engine_e2e.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.settings import PROJECT_ROOT
from tests.fuzz import assert_quiet_end, into_closed_pipe

# Nothing listens on the discard port; nothing here sends it a request either.
NO_MODEL = {"RAG_LLM_BACKEND": "openai", "RAG_LLM_BASE_URL": "http://127.0.0.1:9/v1"}


def test_interactive_chat_refuses_bytes_that_are_not_utf8_and_goes_on(
    copy_data_dir, model_cache: Path
) -> None:
    env = os.environ | NO_MODEL | {"RAG_DATA_DIR": str(copy_data_dir()), "RAG_CACHE_DIR": str(model_cache)}
    result = subprocess.run(
        [sys.executable, "-m", "rag", "ask"],
        cwd=PROJECT_ROOT,
        env=env,
        input=b"\xff\xfe\nring \x07 the bell?\n\n",  # two bad questions, then an empty line to quit
        capture_output=True,
        timeout=300,
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


def test_output_into_a_closed_pipe_ends_quietly(copy_data_dir, model_cache: Path) -> None:
    env = NO_MODEL | {"RAG_DATA_DIR": str(copy_data_dir()), "RAG_CACHE_DIR": str(model_cache)}
    result = into_closed_pipe(["rag", "ask"], env)  # the interactive chat's greeting meets the closed pipe
    assert_quiet_end(result)
    assert result.stderr == ""
