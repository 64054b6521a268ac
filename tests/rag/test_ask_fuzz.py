"""`python -m rag ask` with whatever a user might type or hand it (hypothesis).

Through the real CLI, on an empty index so that no run loads the model: every run ends with one
`error:` line, and input refused as bad (exit 2) never touched the index. In-process, with a
scripted model over the real index: any question and history gives a checked answer or a
one-line refusal of the input, and refused input never reaches the model."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from core.errors import EXIT_BAD_INPUT, EXIT_STORE
from core.settings import Settings
from index.store import open_index
from rag.engine import AnswerEngine
from rag.questions import QuestionError
from rag.types import Turn
from tests.fuzz import (
    IN_PROCESS_EXAMPLES,
    SUBPROCESS_EXAMPLES,
    any_text,
    argv_text,
    error_lines,
    history_files,
    python_m,
    turns,
    undecodable,
)

MAX_CHARS = Settings().max_question_chars
long_text = st.text(min_size=MAX_CHARS - 5, max_size=MAX_CHARS + 20)
questions = st.one_of(argv_text, long_text.map(lambda s: s.replace("\x00", "")))  # argv cannot hold NUL


def bad_text(text: str) -> bool:
    """Input that must be refused: blank, not UTF-8, control characters, too long."""
    collapsed = " ".join(text.split())
    try:
        collapsed.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return not collapsed or len(collapsed) > MAX_CHARS or any(c < " " or c == "\x7f" for c in collapsed)


@SUBPROCESS_EXAMPLES
@given(question=st.none() | questions, history=st.none() | history_files, as_json=st.booleans())
@example(question="\udcff\udcfe", history=None, as_json=False)  # "$(printf '\xff\xfe')"
@example(question="Who?", history=b'{"not": "a list"}', as_json=False)
@example(question="Who?", history=b"\xff\xfe[]", as_json=True)
@example(question="Who?", history=b'[{"user": "\\udcff"}]', as_json=False)
@example(question=None, history=b"[]", as_json=False)
def test_rag_ask_ends_with_one_line(question, history, as_json, tmp_path: Path, model_cache: Path) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    data_dir = work / "data"
    args = ["rag", "ask", *(["--json"] if as_json else [])]
    if history is not None:
        (work / "history.json").write_bytes(history)
        args += ["--history", "history.json"]
    if question is not None:
        args.append(question)
    result = python_m(
        args, {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache)}, work, stdin=b""
    )
    errors = error_lines(result)
    event(f"exit {result.returncode}")
    assert len(errors) == 1 and result.stdout == b""
    assert result.returncode in (EXIT_BAD_INPUT, EXIT_STORE), errors
    if result.returncode == EXIT_BAD_INPUT:
        assert not data_dir.exists()  # refused before the index was opened
    else:
        assert "No articles are indexed yet" in errors[0]
    if (question is not None and bad_text(question)) or (history is not None and _not_utf8(history)):
        assert result.returncode == EXIT_BAD_INPUT


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


MODEL_CALLS = {"n": 0}


def _declines() -> Iterator[AIMessage]:
    """A scripted model that always declines, counting its calls."""
    while True:
        MODEL_CALLS["n"] += 1
        yield AIMessage("Answer: none")


@pytest.fixture(scope="module")
def engine(built_data_dir: Path, model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> AnswerEngine:
    data_dir = tmp_path_factory.mktemp("ask") / "data"
    shutil.copytree(built_data_dir, data_dir)
    settings = Settings(data_dir=data_dir, cache_dir=model_cache, judgement="rules", support_check=False)
    return AnswerEngine(settings, index=open_index(settings), llm=GenericFakeChatModel(messages=_declines()))


@IN_PROCESS_EXAMPLES
@given(
    question=st.one_of(any_text, undecodable, st.text(min_size=MAX_CHARS - 5, max_size=MAX_CHARS + 20)),
    history=turns.map(lambda ts: [Turn(**t) for t in ts]),
)
@example(question="How many people emerged from Baghuz?", history=[])
@example(question="How old was he?", history=[Turn(user="Who is \udcff?", assistant="x")])
def test_any_question_gets_a_checked_answer_or_a_one_line_refusal(engine, question, history) -> None:
    calls_before = MODEL_CALLS["n"]
    try:
        answer = engine.ask(question, history)
    except QuestionError as exc:
        event("refused")
        assert "\n" not in str(exc) and str(exc)
        assert MODEL_CALLS["n"] == calls_before  # refused before the model was asked
        return
    event("answered" if not answer.refused else "the articles don't say")
    assert not bad_text(question)
    if not answer.refused:
        for citation in answer.citations:
            document = engine.index.document(citation.doc_id)
            assert document is not None and document.text[citation.start : citation.end] == citation.quote


@pytest.mark.parametrize("kind", ["missing", "a folder"])
def test_a_history_file_that_cannot_be_read(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    if kind == "a folder":
        path.mkdir()
    result = python_m(
        ["rag", "ask", "--history", str(path), "Who?"], {"RAG_DATA_DIR": str(tmp_path / "d")}, tmp_path
    )
    errors = error_lines(result)
    assert result.returncode == EXIT_BAD_INPUT and len(errors) == 1
    assert errors[0].startswith(f"error: cannot read history file {path}")
    assert not (tmp_path / "d").exists()
