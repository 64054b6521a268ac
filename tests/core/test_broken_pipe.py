"""Output piped into a reader that stops early (``| head -1``): the CLIs end quietly with 141.

(``--help`` is no test of this: argparse itself ignores a failed write of its help.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.eval.test_table import summary
from tests.fuzz import assert_quiet_end, into_closed_pipe


@pytest.mark.parametrize("command", [["list"], ["stats"], ["stats", "--json"]])
def test_index_output_into_a_closed_pipe(command: list[str], built_data_dir: Path, model_cache: Path) -> None:
    env = {"RAG_DATA_DIR": str(built_data_dir), "RAG_CACHE_DIR": str(model_cache)}
    result = into_closed_pipe(["index", *command], env)
    assert_quiet_end(result)
    assert result.stderr == ""


def test_eval_table_into_a_closed_pipe(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary()), encoding="utf-8")
    assert_quiet_end(into_closed_pipe(["eval", "table", f"A={run}"], {"RAG_DATA_DIR": str(tmp_path)}))


def test_ui_feedback_export_into_a_closed_pipe(tmp_path: Path) -> None:
    env = {"RAG_DATA_DIR": str(tmp_path)}
    assert_quiet_end(into_closed_pipe(["ui", "--export-feedback", str(tmp_path / "f.jsonl")], env))
