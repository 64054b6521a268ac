"""What the tests of the entry points share: hypothesis strategies for user input, running
``python -m ...`` as a user would (also into a closed pipe), and the check that a run ended with
one-line messages, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from core.errors import EXIT_BROKEN_PIPE
from core.settings import PROJECT_ROOT

# Subprocess examples cost a second or more each: few of them, no deadline. Function-scoped
# fixtures (a data folder) are shared by all examples of a test on purpose.
SUBPROCESS_EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # "explain" reruns for minutes
)
IN_PROCESS_EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text, lone surrogates and control characters included.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
# What a terminal hands over for bytes that are not UTF-8: argv and stdin decode them with
# surrogateescape (`python -m rag ask "$(printf '\xff\xfe')"`).
undecodable = st.binary(min_size=1, max_size=24).map(os.fsdecode)
# What argv can carry: anything but NUL.
argv_text = st.one_of(any_text, undecodable).map(lambda s: s.replace("\x00", ""))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)
turns = st.lists(
    st.fixed_dictionaries({"user": any_text}, optional={"assistant": any_text | st.none()}), max_size=3
)
# History files: raw bytes, any JSON (surrogates written as \\udcxx escapes), or turn lists.
history_files = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    turns.map(lambda v: json.dumps(v).encode()),
)


def python_m(
    args: list[str], env: dict[str, str], cwd: Path, stdin: bytes | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``python -m ARGS`` as a user runs it, from ``cwd`` (relative paths land there)."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)} | env,  # the project importable from anywhere
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The run's ``error:`` lines, after checking that stderr holds nothing else but known notes
    (the updates of the progress bar, split at carriage returns)."""
    stderr = result.stderr.decode("utf-8", "backslashreplace")
    assert "Traceback" not in stderr, stderr
    notes = ("indexing:", "waiting for another ingest to finish", "Checking the answer against the articles")
    # Only what a terminal breaks lines at: "\x85" in a file name is no line break there.
    lines = [line for line in re.split(r"[\r\n]", stderr) if line.strip()]
    unexpected = [line for line in lines if not line.startswith("error: ") and not line.startswith(notes)]
    assert unexpected == [], stderr
    return [line for line in lines if line.startswith("error: ")]


def into_closed_pipe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``python -m ARGS`` with stdout a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # before the child starts: its first write fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", *args],
            cwd=PROJECT_ROOT,
            env=os.environ | env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)


def assert_quiet_end(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == EXIT_BROKEN_PIPE, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
