"""The product's expected failures: one base class, a few kinds, each with its exit code.

Anything raised as a :class:`NewsQAError` is a situation a user can meet and fix (bad input, a
bad setting, a missing or damaged store, an unreachable backend); its message is one line that
says what to do. Every CLI and the chat catch this base and show the message; any other
exception is a bug and surfaces with its traceback.
"""

from __future__ import annotations

# Exit codes of every ``python -m`` entry point (documented in the README).
EXIT_OK = 0
EXIT_SOME_FAILED = 1  # the command ran, but some of its items (files, eval items) failed
EXIT_BAD_INPUT = 2  # also argparse's code for bad arguments
EXIT_STORE = 3
EXIT_BACKEND = 4
EXIT_BUSY = 5
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # what a shell shows for a program stopped by SIGPIPE


class NewsQAError(Exception):
    """An expected failure; ``str()`` is one line for the user naming what to do."""

    exit_code: int = EXIT_SOME_FAILED


class InputError(NewsQAError):
    """Bad input: a question, a history file, a path, an argument, an uploaded file."""

    exit_code = EXIT_BAD_INPUT


class SettingsError(NewsQAError):
    """A setting (environment, ``rag.toml`` or a command-line override) has an unusable value."""

    exit_code = EXIT_BAD_INPUT


class StoreError(NewsQAError):
    """The index (or another store) is missing, empty, damaged or cannot be written."""

    exit_code = EXIT_STORE


class BackendError(NewsQAError):
    """A backend cannot be had: the LLM, an endpoint, the Chroma server, the embedding model."""

    exit_code = EXIT_BACKEND


class BusyError(NewsQAError):
    """Another process holds what this one needs (the index's writer lock) for too long."""

    exit_code = EXIT_BUSY


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) turned into one space."""
    return " ".join(str(text).split())
