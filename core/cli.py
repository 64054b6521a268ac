"""How every ``python -m`` entry point ends: a result, or one line on stderr and an exit code.

``run_cli`` wraps a command's body. An expected failure (:class:`~core.errors.NewsQAError`) is
printed as ``error: <message>`` and exits with its code; Ctrl-C exits 130; a closed output pipe
(``python -m index list | head -1``) ends quietly. Anything else is a bug: it is not caught here,
so its traceback shows.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from core.errors import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, NewsQAError, one_line


class ArgumentParser(argparse.ArgumentParser):
    """argparse with its errors as one line like every other error (not the usage text too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"error: {one_line(message)} (see `{self.prog} --help`)\n")


def fail(message: str, code: int) -> int:
    """Print ``error: <message>`` as one line on stderr; return ``code`` for ``sys.exit``."""
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
    return code


def _silence_stdout() -> None:
    # The reader has gone: point stdout at /dev/null so the interpreter's final flush cannot
    # raise again (the recipe of Python's signal documentation).
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (an in-process caller's capture)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (lives as long as the process)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def run_cli(command: Callable[[], int], interrupted: str = "interrupted") -> int:
    """Run ``command`` (a CLI's work, returning its exit code) with the shared error handling."""
    try:
        code = command()
        # A closed pipe often shows only when buffered output is flushed: do it here, not at exit.
        sys.stdout.flush()
        return code
    except NewsQAError as exc:
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
