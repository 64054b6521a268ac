"""How failures while answering become one user-facing line, and what the log keeps."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.settings import Settings
from rag.llm import LLMError, as_llm_error


def _boom() -> None:
    "abc"[7]  # an IndexError with a traceback, as a bug in our own code would give


def test_an_unexpected_error_is_one_line_for_the_user_and_a_traceback_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        _boom()
    except IndexError as exc:
        with caplog.at_level(logging.ERROR, logger="rag.llm.errors"):
            err = as_llm_error(exc, Settings(data_dir=tmp_path))
    assert isinstance(err, LLMError) and err.__cause__ is not None
    assert str(err) == "the LLM failed: IndexError: string index out of range"
    (record,) = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is IndexError
    assert "_boom" in caplog.text  # the traceback names where it came from


def test_an_llm_error_passes_through_without_logging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = LLMError("the embedded LLM rejected the request: too long")
    with caplog.at_level(logging.ERROR):
        assert as_llm_error(original, Settings(data_dir=tmp_path)) is original
    assert caplog.records == []
