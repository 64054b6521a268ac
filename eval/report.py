"""Write a run's files: results.jsonl (per item), summary.json, report.md and report.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: never a display, also on a machine without one

import matplotlib.pyplot as plt

from core.settings import Settings
from eval.metrics import evidence_in_passage
from eval.runner import PlayedItem
from eval.scoring import METRIC_DEFINITIONS, ItemMetrics, aggregate, citation_holds_evidence

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
PLOT_FILE = "report.png"

# The headline metrics, in the order of summary.json, report.md and `compare`.
METRIC_KEYS = [
    "answer_accuracy",
    "exact_match",
    "token_f1",
    "refusal_rate_unanswerable",
    "false_refusal_rate",
    "citation_precision",
    "citation_recall",
    "hit_at_k",
    "mrr",
    "overall_accuracy",
    "ttft_p50_s",
    "ttft_p95_s",
    "total_p50_s",
    "total_p95_s",
    "tokens_per_s",
    "decode_tokens_per_s",
    "after_generation_p50_s",
]
# Secrets never go into a run folder that may be shared or committed.
_SECRET_SETTINGS = ("llm_api_key", "ui_password")


def settings_record(settings: Settings) -> dict[str, Any]:
    record = settings.model_dump(mode="json")
    for key in _SECRET_SETTINGS:
        if record.get(key) not in (None, "", "not-needed"):
            record[key] = "***"
    return record


def result_row(played: PlayedItem, metrics: ItemMetrics) -> dict[str, Any]:
    """One line of results.jsonl: the item, what the system answered, and every metric."""
    item, answer = played.item, played.answer
    evidence = item.evidence if item.answerable else None
    row: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "doc": item.doc,
        "category": item.category,
        "question": item.question,
        "gold_answers": item.answers,
        "answerable": item.answerable,
        "evidence": item.evidence,
        "history": [t.model_dump() for t in played.history],
        # The system's own answers to the earlier turns it played (None: given by the dataset).
        "history_answers": [
            None
            if a is None
            else {"answer": a.answer, "refused": a.refused, "timings": a.timings.model_dump()}
            for a in played.turn_answers
        ],
        "answer": answer.answer if answer else None,
        "refused": answer.refused if answer else False,
        "refusal_reason": answer.refusal_reason if answer else None,
        "standalone_question": answer.standalone_question if answer else None,
        "raw_answer": answer.raw_answer if answer else None,
        "reading": answer.reading.model_dump() if answer and answer.reading else None,
        "p_correct": answer.p_correct if answer else None,
        "model": answer.model if answer else None,
        "citations": [],
        "passages": [],
        "timings": (
            answer.timings.model_dump()
            | {"last_token_s": played.last_token_s, "stream_tokens": played.stream_tokens}
            if answer
            else None
        ),
        "metrics": metrics.to_dict(),
        "right": metrics.right,
        "error": played.error,
    }
    if answer:
        row["citations"] = [
            c.model_dump()
            | {"holds_evidence": citation_holds_evidence(c, answer, evidence) if evidence else None}
            for c in answer.citations
        ]
        row["passages"] = [
            p.model_dump() | {"holds_evidence": evidence_in_passage(evidence, p.text) if evidence else None}
            for p in answer.passages
        ]
    return row


def write_results(out: Path, rows: list[dict[str, Any]]) -> Path:
    path = out / RESULTS_FILE
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_summary(out: Path, summary: dict[str, Any]) -> Path:
    path = out / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key.endswith("tokens_per_s"):
        return f"{value:.1f}"
    if key.endswith("_s"):
        return f"{value:.2f} s"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _category_table(groups: dict[str, dict[str, Any]]) -> list[str]:
    keys = [
        "answer_accuracy",
        "token_f1",
        "refusal_rate_unanswerable",
        "false_refusal_rate",
        "citation_precision",
        "citation_recall",
        "hit_at_k",
        "overall_accuracy",
        "total_p50_s",
    ]
    lines = [
        "| group | n | answerable | unanswerable | " + " | ".join(keys) + " |",
        "|---" * (4 + len(keys)) + "|",
    ]
    for name, m in groups.items():
        counts = m["counts"]
        cells = [_fmt(k, m[k]) for k in keys]
        lines.append(
            f"| {name} | {m['n_items']} | {counts['answerable']} | {counts['unanswerable']} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def render_markdown(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    pipeline, dataset = summary["pipeline"], summary["dataset"]
    lines = [
        f"# Evaluation: {pipeline['name']} pipeline on {Path(dataset['path']).name}",
        "",
        f"{summary['n_items']} items, model {pipeline.get('model') or '?'}, "
        f"k = {pipeline.get('k')}, run {summary['run']['started_at']} "
        f"({summary['run']['duration_s']:.0f} s). Errors: {summary['counts']['errors']}.",
        "",
        "## Overall",
        "",
        "| metric | value | definition |",
        "|---|---|---|",
    ]
    for key in METRIC_KEYS:
        lines.append(f"| {key} | {_fmt(key, summary[key])} | {METRIC_DEFINITIONS[key]} |")
    c = summary["counts"]
    lines += [
        "",
        f"Counts: {c['answerable']} answerable ({c['correct']} correct), {c['unanswerable']} unanswerable, "
        f"{c['refused']} refused, {c['citations']} citations on answerable items "
        f"({c['good_citations']} holding the evidence).",
        "",
    ]
    titles = {"kind": "By kind", "doc": "By article", "category": "By dataset category"}
    for group, groups in summary["by_category"].items():
        lines += [f"## {titles.get(group, group)}", "", *_category_table(groups), ""]
    wrong = [r for r in rows if not r["right"]]
    lines += [f"## Items not handled right ({len(wrong)})", ""]
    if wrong:
        lines += ["| id | kind | question | gold | answer |", "|---|---|---|---|---|"]
        for r in wrong:
            gold = " / ".join(r["gold_answers"]) or "(refusal)"
            said = r["error"] or ("(refused) " if r["refused"] else "") + (r["answer"] or "")
            lines.append(
                f"| {r['id']} | {r['kind']} | {_cell(r['question'])} | {_cell(gold)} | {_cell(said)} |"
            )
    lines += ["", f"![accuracy and latency]({PLOT_FILE})", ""]
    return "\n".join(lines)


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_report(out: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    path = out / REPORT_FILE
    path.write_text(render_markdown(summary, rows), encoding="utf-8")
    return path


def write_plot(out: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """Left: share of items handled right, overall and per group; right: latency histograms."""
    labels = ["overall"]
    values = [summary["overall_accuracy"] or 0.0]
    counts = [summary["n_items"]]
    for group in ("kind", "category", "doc"):
        for name, m in summary["by_category"].get(group, {}).items():
            labels.append(f"{group}: {name.removesuffix('.txt')[:34]}")
            values.append(m["overall_accuracy"] or 0.0)
            counts.append(m["n_items"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, max(4.0, 0.38 * len(labels) + 1.5)))
    bars = left.barh(range(len(labels)), values, color="#4c72b0")
    left.set_yticks(range(len(labels)), labels, fontsize=8)
    left.invert_yaxis()
    left.set_xlim(0, 1.12)
    left.set_xlabel("share right (answerable: correct; unanswerable: refused)")
    left.set_title("Accuracy by category")
    for bar, value, n in zip(bars, values, counts, strict=True):
        left.text(
            value + 0.01, bar.get_y() + bar.get_height() / 2, f"{value:.2f} (n={n})", va="center", fontsize=7
        )
    timings = [r["timings"] for r in rows if r["timings"]]
    totals = [t["total_s"] for t in timings]
    ttfts = [t["ttft_s"] for t in timings if t["ttft_s"] is not None]
    if totals:
        # Shared bins from 0, so the two distributions can be read against each other.
        bins = np.linspace(0, max(totals) * 1.02, max(6, min(30, len(totals) // 2)) + 1)
        right.hist(totals, bins=bins, alpha=0.6, label="total", color="#dd8452")
        right.hist(ttfts, bins=bins, alpha=0.6, label="time to first token", color="#55a868")
        for key, style in (("total_p50_s", "-"), ("total_p95_s", "--")):
            if summary[key] is not None:
                right.axvline(summary[key], color="#dd8452", linestyle=style, label=key)
        right.legend(fontsize=8)
    right.set_xlabel("seconds")
    right.set_ylabel("items")
    right.set_title("Latency distribution")
    fig.suptitle(f"{summary['pipeline']['name']} pipeline, {Path(summary['dataset']['path']).name}")
    fig.tight_layout()
    path = out / PLOT_FILE
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def build_summary(
    metrics: list[ItemMetrics],
    items_by_category: dict[str, dict[str, dict[str, Any]]],
    settings: Settings,
    pipeline: dict[str, Any],
    dataset: dict[str, Any],
    run: dict[str, Any],
) -> dict[str, Any]:
    """summary.json: the headline metrics first, then what produced them."""
    overall = aggregate(metrics)
    return {
        "n_items": overall["n_items"],
        **{key: overall[key] for key in METRIC_KEYS},
        "counts": overall["counts"],
        "by_category": items_by_category,
        "pipeline": pipeline,
        "dataset": dataset,
        "run": run,
        "settings": settings_record(settings),
    }


def write_run(
    out: Path,
    played: list[PlayedItem],
    metrics: list[ItemMetrics],
    summary: dict[str, Any],
) -> dict[str, Path]:
    """Every file of a run folder; returns their paths by kind."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [result_row(p, m) for p, m in zip(played, metrics, strict=True)]
    return {
        "results": write_results(out, rows),
        "summary": write_summary(out, summary),
        "report": write_report(out, summary, rows),
        "plot": write_plot(out, summary, rows),
    }
