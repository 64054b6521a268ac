"""Runs side by side as a markdown table, each rate with its Wilson 95% interval:
``python -m eval table NAME=RUN ...``.

With a few dozen items per rate, a two-item change moves a rate by several points; the interval
says whether a difference between rows is more than that.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InputError
from eval.report import SUMMARY_FILE

Z_95 = 1.959964


class TableError(InputError):
    """A run folder that cannot be read; the message names it."""


def wilson(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials (sound near 0 and 1, unlike k/n ± ...)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Rate:
    k: int
    n: int

    def cell(self) -> str:
        if self.n == 0:
            return "–"
        low, high = wilson(self.k, self.n)
        return f"{self.k / self.n:.3f} [{low:.2f}, {high:.2f}]"


def _count(rate: float | None, n: int) -> int:
    # Summaries store exact fractions of integer counts.
    return round((rate or 0.0) * n)


def rates(summary: dict[str, Any]) -> dict[str, Rate]:
    """The rates of one run summary as counts."""
    c = summary["counts"]
    answerable, unanswerable = c["answerable"], c["unanswerable"]
    adversarial = summary.get("by_category", {}).get("unanswerable", {}).get("adversarial")
    out = {
        "answer accuracy": Rate(c["correct"], answerable),
        "unanswerable refused": Rate(
            _count(summary["refusal_rate_unanswerable"], unanswerable), unanswerable
        ),
        "false refusals": Rate(_count(summary["false_refusal_rate"], answerable), answerable),
        "citation precision": Rate(c["good_citations"], c["citations"]),
        "overall": Rate(c["right"], summary["n_items"]),
    }
    if adversarial:
        n = adversarial["counts"]["unanswerable"]
        out["adversarial refused"] = Rate(_count(adversarial["refusal_rate_unanswerable"], n), n)
    return out


COLUMNS = (
    "answer accuracy",
    "unanswerable refused",
    "adversarial refused",
    "false refusals",
    "citation precision",
    "overall",
)


def load_summary(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TableError(f"{run} is not a readable run folder: {exc}") from None


def table(runs: list[tuple[str, Path]]) -> str:
    """One markdown row per (name, run folder): rates with intervals, then TTFT and total p50."""
    head = ["pipeline", *COLUMNS, "TTFT p50", "total p50"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, run in runs:
        summary = load_summary(run)
        found = rates(summary)
        cells = [found[c].cell() if c in found else "–" for c in COLUMNS]
        timing = [
            f"{summary[k]:.2f} s" if summary.get(k) is not None else "–"
            for k in ("ttft_p50_s", "total_p50_s")
        ]
        lines.append("| " + " | ".join([name, *cells, *timing]) + " |")
    return "\n".join(lines) + "\n"
