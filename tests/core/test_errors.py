"""One error model: every product error is a NewsQAError of a kind with its exit code, and every
CLI handles it (and nothing else) the same way."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from core.cli import ArgumentParser, run_cli
from core.errors import (
    EXIT_BACKEND,
    EXIT_BAD_INPUT,
    EXIT_BUSY,
    EXIT_INTERRUPTED,
    EXIT_STORE,
    BackendError,
    BusyError,
    InputError,
    NewsQAError,
    SettingsError,
    StoreError,
)
from core.settings import PROJECT_ROOT

PACKAGES = ("core", "index", "rag", "ui", "eval", "bench")
# Exceptions that are not the product's expected failures: a prompt file missing from the
# checkout is a broken install (a bug), not something a user can fix.
NOT_PRODUCT_ERRORS = {"rag.prompts.PromptNotFoundError"}


def _project_exceptions() -> list[type[BaseException]]:
    found = []
    for package in PACKAGES:
        for info in pkgutil.walk_packages([str(PROJECT_ROOT / package)], prefix=f"{package}."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for _name, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                    found.append(cls)
    return found


def test_every_error_class_of_the_project_is_a_newsqa_error() -> None:
    classes = _project_exceptions()
    names = {f"{c.__module__}.{c.__qualname__}" for c in classes}
    # The walk found the known ones (it really looks at every module).
    known = {"rag.llm.errors.LLMError", "rag.questions.QuestionError", "index.errors.DamagedIndexError"}
    assert known <= names
    strays = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if not issubclass(c, NewsQAError) and f"{c.__module__}.{c.__qualname__}" not in NOT_PRODUCT_ERRORS
    )
    assert strays == []


@pytest.mark.parametrize(
    ("dotted", "kind", "code"),
    [
        ("rag.questions.QuestionError", InputError, EXIT_BAD_INPUT),
        ("index.documents.IngestError", InputError, EXIT_BAD_INPUT),
        ("eval.dataset.DatasetError", InputError, EXIT_BAD_INPUT),
        ("rag.judge.CalibrationError", SettingsError, EXIT_BAD_INPUT),
        ("index.tokens.EncodingUnavailableError", SettingsError, EXIT_BAD_INPUT),
        ("rag.engine.EmptyIndexError", StoreError, EXIT_STORE),
        ("index.errors.DamagedIndexError", StoreError, EXIT_STORE),
        ("rag.llm.errors.LLMError", BackendError, EXIT_BACKEND),
        ("index.vector_store.VectorStoreError", BackendError, EXIT_BACKEND),
        ("index.embedding.EmbeddingModelError", BackendError, EXIT_BACKEND),
        ("index.errors.IndexBusyError", BusyError, EXIT_BUSY),
    ],
)
def test_each_error_has_its_kind_and_exit_code(dotted: str, kind: type, code: int) -> None:
    module, name = dotted.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, kind) and cls.exit_code == code
    assert not issubclass(cls, RuntimeError)  # nobody may catch these as "any RuntimeError"


def test_an_expected_failure_is_one_line_on_stderr_with_its_code(capsys) -> None:
    def command() -> int:
        raise StoreError("the catalog is gone;\nrebuild it\twith `python -m index build --rebuild`")

    assert run_cli(command) == EXIT_STORE
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "error: the catalog is gone; rebuild it with `python -m index build --rebuild`\n"


def test_ctrl_c_exits_130_with_a_word(capsys) -> None:
    def command() -> int:
        raise KeyboardInterrupt

    assert run_cli(command, interrupted="interrupted; the index was left consistent") == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "interrupted; the index was left consistent\n"


def test_a_bug_is_not_caught() -> None:
    def command() -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        run_cli(command)


def test_argument_errors_are_one_line(capsys) -> None:
    parser = ArgumentParser(prog="python -m thing")
    parser.add_argument("--n", type=int)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--n", "many"])
    assert info.value.code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: argument --n: invalid int value: 'many'")
    assert "python -m thing --help" in err
