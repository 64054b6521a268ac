"""Bad settings are one line naming the variable, from every entry point, before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from core.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_STORE, SettingsError
from core.settings import PROJECT_ROOT, Settings, load_settings
from tests.fuzz import IN_PROCESS_EXAMPLES, SUBPROCESS_EXAMPLES, any_text, argv_text, error_lines, python_m

# Paths would make folders wherever the fuzzer points; hosts and URLs would go to the network.
NOT_FUZZED = {"data_dir", "cache_dir", "articles_dir", "calibration_file", "chroma_host", "llm_base_url"}
FIELDS = sorted(set(Settings.model_fields) - NOT_FUZZED)


@IN_PROCESS_EXAMPLES
@given(field=st.sampled_from(FIELDS), value=any_text)
@example(field="tiktoken_encoding", value="bogus")
@example(field="chunk_overlap_tokens", value="500")
@example(field="top_k", value="\udcff")
def test_any_value_is_taken_or_refused_in_one_line_naming_it(field: str, value: str) -> None:
    try:
        load_settings(**{field: value})
    except SettingsError as exc:
        event("refused")
        message = str(exc)
        assert "\n" not in message and message.startswith("bad settings: ")
        assert f"RAG_{field.upper()}" in message or field in message, message
    else:
        event("taken")


def run(module: str, args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("module", "args"),
    [("index", ["list"]), ("rag", ["ask", "Who?"]), ("eval", ["run", "--limit", "1"]), ("ui", [])],
)
def test_every_cli_refuses_a_bad_value_at_once(module: str, args: list[str], tmp_path: Path) -> None:
    result = run(module, args, RAG_DATA_DIR=str(tmp_path / "d"), RAG_TOP_K="lots")
    assert result.returncode == EXIT_BAD_INPUT
    assert "RAG_TOP_K='lots'" in one_error_line(result)
    assert not (tmp_path / "d").exists()


def test_an_unknown_tiktoken_encoding_for_rag_ask(tmp_path: Path) -> None:
    result = run("rag", ["ask", "Who?"], RAG_DATA_DIR=str(tmp_path), RAG_TIKTOKEN_ENCODING="bogus")
    assert result.returncode == EXIT_BAD_INPUT
    line = one_error_line(result)
    assert "RAG_TIKTOKEN_ENCODING='bogus'" in line and "cl100k_base" in line


def test_a_collection_name_chroma_refuses(tmp_path: Path, model_cache: Path) -> None:
    result = run(
        "index",
        ["list"],
        RAG_DATA_DIR=str(tmp_path),
        RAG_CACHE_DIR=str(model_cache),
        RAG_CHROMA_COLLECTION="x",
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert "RAG_CHROMA_COLLECTION='x'" in one_error_line(result)


def test_a_data_folder_that_is_a_file(tmp_path: Path) -> None:
    a_file = tmp_path / "data"
    a_file.write_text("not a folder")
    result = run("index", ["list"], RAG_DATA_DIR=str(a_file))
    assert result.returncode == EXIT_BAD_INPUT
    line = one_error_line(result)
    assert str(a_file) in line and "RAG_DATA_DIR" in line


def test_a_config_file_that_is_not_toml(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text("top_k = \n")
    result = run("rag", ["ask", "Who?"], RAG_CONFIG_FILE=str(config))
    assert result.returncode == EXIT_BAD_INPUT
    assert str(config) in one_error_line(result)


@pytest.fixture
def data_dir(copy_data_dir) -> Path:
    return copy_data_dir()  # a valid but new collection name makes Chroma create it


@settings(SUBPROCESS_EXAMPLES, max_examples=10)  # the in-process property above has the many examples
@given(field=st.sampled_from(FIELDS), value=argv_text)
@example(field="chroma_collection", value="another")  # valid, but not the collection of this index
def test_any_value_for_index_list(
    field: str, value: str, data_dir: Path, model_cache: Path, tmp_path
) -> None:
    env = {
        "RAG_DATA_DIR": str(data_dir),
        "RAG_CACHE_DIR": str(model_cache),
        f"RAG_{field.upper()}": value,
    }
    result = python_m(["index", "list"], env, tmp_path)
    errors = error_lines(result)
    event(f"exit {result.returncode}")
    assert result.returncode in (EXIT_OK, EXIT_BAD_INPUT, EXIT_STORE)
    if result.returncode == EXIT_OK:
        assert errors == [] and result.stdout.count(b"\n") == 2  # the two shipped articles
    else:
        assert len(errors) == 1
        assert f"RAG_{field.upper()}" in errors[0] or field in errors[0] or "collection" in errors[0]
