"""Compare two run folders: metric deltas, and the items that flipped between right and wrong.

An item is *right* when it is answerable and answered correctly, or unanswerable and refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError
from eval.report import METRIC_KEYS, RESULTS_FILE, SUMMARY_FILE

# Lower is better for these; higher is better for every other metric.
LOWER_IS_BETTER = {
    "false_refusal_rate",
    "ttft_p50_s",
    "ttft_p95_s",
    "total_p50_s",
    "total_p95_s",
    "after_generation_p50_s",
}
# Deltas this small are noise (floating point, one-off timing jitter is not filtered here).
_EPSILON = 1e-9


class CompareError(InputError):
    """A run folder that cannot be read; the message names it."""


@dataclass(frozen=True)
class Run:
    path: Path
    summary: dict[str, Any]
    rows: dict[str, dict[str, Any]]  # by item id, in file order


@dataclass(frozen=True)
class Delta:
    key: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def verdict(self) -> str:
        """Whether B is "better" or "worse" than A; "" when unchanged, undirected or not comparable."""
        d = self.delta
        if d is None or abs(d) <= _EPSILON or self.key == "n_items":
            return ""
        improved = d < 0 if self.key in LOWER_IS_BETTER else d > 0
        return "better" if improved else "worse"


@dataclass
class Comparison:
    a: Run
    b: Run
    deltas: list[Delta]
    right_to_wrong: list[str] = field(default_factory=list)
    wrong_to_right: list[str] = field(default_factory=list)
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    changed_settings: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def load_run(path: Path) -> Run:
    path = Path(path)
    try:
        summary = json.loads((path / SUMMARY_FILE).read_text(encoding="utf-8"))
        rows: dict[str, dict[str, Any]] = {}
        with (path / RESULTS_FILE).open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    rows[row["id"]] = row
    except FileNotFoundError as exc:
        raise CompareError(f"{path}: not a run folder (no {Path(exc.filename).name})") from None
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CompareError(f"{path}: cannot read the run ({type(exc).__name__}: {exc})") from None
    return Run(path, summary, rows)


def compare_runs(a: Run, b: Run) -> Comparison:
    deltas = [Delta(key, a.summary.get(key), b.summary.get(key)) for key in ["n_items", *METRIC_KEYS]]
    result = Comparison(a, b, deltas)
    for item_id, row_a in a.rows.items():
        row_b = b.rows.get(item_id)
        if row_b is None:
            result.only_in_a.append(item_id)
        elif row_a["right"] and not row_b["right"]:
            result.right_to_wrong.append(item_id)
        elif row_b["right"] and not row_a["right"]:
            result.wrong_to_right.append(item_id)
    result.only_in_b = [item_id for item_id in b.rows if item_id not in a.rows]
    settings_a, settings_b = a.summary.get("settings", {}), b.summary.get("settings", {})
    result.changed_settings = {
        key: (settings_a.get(key), settings_b.get(key))
        for key in sorted(set(settings_a) | set(settings_b))
        if settings_a.get(key) != settings_b.get(key)
    }
    return result


def _num(value: float | None, key: str, signed: bool = False) -> str:
    if value is None:
        return "–"
    if key == "n_items":
        return f"{value:+d}" if signed else str(value)
    digits = 1 if key.endswith("tokens_per_s") else 3
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _pipeline_name(run: Run) -> str:
    return str(run.summary.get("pipeline", {}).get("name", "?"))


def render(comparison: Comparison) -> str:
    a, b = comparison.a, comparison.b
    lines = [f"A: {a.path} ({_pipeline_name(a)})", f"B: {b.path} ({_pipeline_name(b)})"]
    data_a, data_b = a.summary.get("dataset", {}), b.summary.get("dataset", {})
    if data_a.get("sha256") != data_b.get("sha256"):
        lines.append(f"warning: different datasets ({data_a.get('path')} vs {data_b.get('path')})")
    lines.append("")
    rows = [("metric", "A", "B", "B−A", "")]
    rows += [
        (d.key, _num(d.a, d.key), _num(d.b, d.key), _num(d.delta, d.key, signed=True), d.verdict)
        for d in comparison.deltas
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 4)] + [row[4]]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths[:4]))
    lines.append("")
    for title, ids in (
        ("right → wrong", comparison.right_to_wrong),
        ("wrong → right", comparison.wrong_to_right),
    ):
        lines.append(f"{title} ({len(ids)}):")
        for item_id in ids:
            row = b.rows[item_id]
            lines.append(f"  {item_id}  [{row.get('kind')}]  {row.get('question')}")
            lines.append(f"      A: {_answer_of(a.rows[item_id])}")
            lines.append(f"      B: {_answer_of(row)}")
        lines.append("")
    for title, ids in (("only in A", comparison.only_in_a), ("only in B", comparison.only_in_b)):
        if ids:
            lines.append(f"{title} ({len(ids)}): {', '.join(ids)}")
    if comparison.changed_settings:
        lines.append("settings that differ:")
        for key, (value_a, value_b) in comparison.changed_settings.items():
            lines.append(f"  {key}: {value_a!r} → {value_b!r}")
    return "\n".join(lines).rstrip() + "\n"


def _answer_of(row: dict[str, Any]) -> str:
    said = row.get("error") or ("(refused)" if row.get("refused") else (row.get("answer") or ""))
    return " ".join(said.split())[:200]


def compare(path_a: Path, path_b: Path) -> str:
    return render(compare_runs(load_run(path_a), load_run(path_b)))
