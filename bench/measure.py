"""Timers, percentiles, medians over repeats, and memory read from ``/proc`` (no psutil).

Numbers on a shared 2-core machine wander: every benchmark reports medians over repeats and the
machine's load average next to its numbers, so a reader can tell a slow run from a slow system.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import PROJECT_ROOT

MB = 1_000_000


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100), the same rule as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(values: list[float], digits: int = 4) -> dict[str, Any]:
    """n, p50, p95, mean, min and max of a list of seconds (or anything), rounded."""

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, digits)

    return {
        "n": len(values),
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "mean": r(statistics.fmean(values)) if values else None,
        "min": r(min(values)) if values else None,
        "max": r(max(values)) if values else None,
    }


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None, digits: int = 3) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)


@contextmanager
def timer() -> Iterator[Callable[[], float]]:
    """``with timer() as elapsed: ...; elapsed()`` gives seconds (frozen once the block ends)."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def repeat(fn: Callable[[], Any], times: int, warmup: int = 0) -> list[float]:
    """Seconds per call of ``fn`` over ``times`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


# --- memory ---------------------------------------------------------------------------------------
def _status_kb(pid: int | str, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_bytes(pid: int | str = "self") -> int | None:
    """Resident set size now (VmRSS)."""
    kb = _status_kb(pid, "VmRSS")
    return None if kb is None else kb * 1024


def peak_rss_bytes(pid: int | str = "self") -> int | None:
    """Peak resident set size (VmHWM) since start or since :func:`reset_peak_rss`."""
    kb = _status_kb(pid, "VmHWM")
    if kb is None and pid == "self":  # not Linux: getrusage's high-water mark (kB on Linux/BSD)
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            kb //= 1024
    return None if kb is None else kb * 1024


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux ``clear_refs``), so a later peak
    belongs to one stage only. False when the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def mb(n_bytes: int | float | None, digits: int = 1) -> float | None:
    return None if n_bytes is None else round(n_bytes / MB, digits)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# --- context --------------------------------------------------------------------------------------
def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on, including how busy the machine was."""
    mem_kb = None
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            mem_kb = int(handle.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    load = load_average()
    return {
        "cpus": os.cpu_count(),
        "memory_gb": None if mem_kb is None else round(mem_kb / 1e6, 1),
        "load_average": None if load is None else [round(x, 2) for x in load],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def project_relative(data: Any) -> Any:
    """``data`` with paths inside the project written relative to it: committed results must
    not name the folder of the machine that measured them."""
    if isinstance(data, dict):
        return {key: project_relative(value) for key, value in data.items()}
    if isinstance(data, list):
        return [project_relative(value) for value in data]
    if isinstance(data, str) and data.startswith(f"{PROJECT_ROOT}{os.sep}"):
        return data[len(str(PROJECT_ROOT)) + 1 :]
    return data


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    text = json.dumps(project_relative(data), indent=2, ensure_ascii=False)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
