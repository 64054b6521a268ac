"""`python -m eval` as a user runs it, in a subprocess, with the real embedding model and LLM.

Small slices only (the real model takes seconds per question on two cores): four items of the dev
split (single-turn from each article, one unanswerable, one multi-turn) through the default
pipeline, two through the naive baseline; plus the one-line errors, which load no LLM.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT
from eval.report import METRIC_KEYS

DEV = PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FRACTION_KEYS = [
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
]
SECONDS_KEYS = ["ttft_p50_s", "ttft_p95_s", "total_p50_s", "total_p95_s"]
# These have a denominator the model's behaviour decides (no citation given, nothing correct).
MAY_BE_NONE = {"citation_precision", "citation_recall", "decode_tokens_per_s", "tokens_per_s"}


def _run(args: list[str], env_extra: dict[str, str], timeout: float = 840) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "eval", *args],
        cwd=PROJECT_ROOT,
        env=os.environ | env_extra,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _slice(path: Path) -> list[dict]:
    """First Guardian single-turn, first Spiegel single-turn, first unanswerable, first multi-turn."""
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    single = [r for r in rows if r["answerable"] and not r["history"]]
    picked = [
        next(r for r in single if r["doc"].startswith("guardian")),
        next(r for r in single if r["doc"].startswith("spiegel")),
        next(r for r in rows if not r["answerable"]),
        next(r for r in rows if r["history"] and all(t["assistant"] is None for t in r["history"])),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    return picked


@pytest.fixture
def env(tmp_path: Path, model_cache: Path) -> dict[str, str]:
    return {
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_CACHE_DIR": str(model_cache),
        # Short answers bound the time on two shared cores; every question still runs end to end.
        "RAG_MAX_ANSWER_TOKENS": "64",
    }


def _check_summary(summary: dict, n_items: int) -> None:
    for key in ["n_items", *METRIC_KEYS, "settings", "pipeline", "dataset", "by_category"]:
        assert key in summary, key
    assert summary["n_items"] == n_items
    for key in FRACTION_KEYS:
        value = summary[key]
        if value is None:
            assert key in MAY_BE_NONE, key
        else:
            assert 0.0 <= value <= 1.0, (key, value)
    for key in SECONDS_KEYS:
        assert summary[key] is not None and 0.0 < summary[key] < 600, (key, summary[key])
    assert summary["ttft_p50_s"] <= summary["total_p50_s"]
    assert summary["ttft_p50_s"] <= summary["ttft_p95_s"] and summary["total_p50_s"] <= summary["total_p95_s"]
    if summary["tokens_per_s"] is not None:
        assert math.isfinite(summary["tokens_per_s"]) and summary["tokens_per_s"] > 0
    assert summary["settings"]["temperature"] == 0.0 and summary["settings"]["max_answer_tokens"] == 64
    assert summary["counts"]["errors"] == 0


def _check_files(out: Path) -> list[dict]:
    for name in ("results.jsonl", "summary.json", "report.md", "report.png"):
        assert (out / name).is_file(), name
    png = (out / "report.png").read_bytes()
    assert png[:8] == PNG_MAGIC and len(png) > 10_000
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_default_pipeline_on_a_small_slice(tmp_path: Path, env: dict[str, str]) -> None:
    dataset = tmp_path / "slice.jsonl"
    picked = _slice(dataset)
    out = tmp_path / "run"
    result = _run(["run", "--dataset", str(dataset), "--out", str(out), "--no-progress"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    # The data folder was empty: the CLI built the index of the shipped articles first.
    assert "the index is empty: building it" in result.stderr

    rows = _check_files(out)
    assert [r["id"] for r in rows] == [r["id"] for r in picked]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    _check_summary(summary, 4)
    assert summary["pipeline"]["name"] == "default" and summary["pipeline"]["k"] == 5
    assert summary["settings"]["data_dir"] == env["RAG_DATA_DIR"]
    assert set(summary["by_category"]["kind"]) == {"single-turn", "unanswerable", "multi-turn"}
    assert set(summary["by_category"]["doc"]) == {
        "guardian-baghuz-final-battle.txt",
        "spiegel-beaten-but-not-defeated.txt",
    }
    # The retrieved passages are recorded and the hybrid retriever finds the evidence of these items.
    for r in rows:
        assert 1 <= len(r["passages"]) <= 5
        assert r["timings"]["total_s"] > 0
        for c in r["citations"]:
            assert c["quote"] and c["chunk_id"]
    assert summary["hit_at_k"] is not None and summary["hit_at_k"] > 0

    # The multi-turn item: the system answered the earlier turn itself, and that text is the history.
    multi = rows[3]
    assert multi["kind"] == "multi-turn"
    assert multi["history"][0]["assistant"] == multi["history_answers"][0]["answer"]
    assert multi["history"][0]["assistant"].strip()
    # A refusal and a wrong answer are both possible from this small model; the verdict must agree.
    unanswerable = rows[2]
    assert unanswerable["right"] == unanswerable["refused"]

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## By kind" in report and "## By article" in report and "report.png" in report

    # Checking the stored generations again with the same settings gives the same answers.
    again = tmp_path / "recheck"
    result = _run(["recheck", str(out), "--out", str(again)], env)
    assert result.returncode == 0, result.stderr[-3000:]
    rechecked = _check_files(again)
    fields = ("answer", "refused", "refusal_reason", "citations", "right")
    assert [{k: r[k] for k in fields} for r in rechecked] == [{k: r[k] for k in fields} for r in rows]


@pytest.mark.slow
def test_naive_pipeline_on_two_items(tmp_path: Path, env: dict[str, str]) -> None:
    dataset = tmp_path / "slice.jsonl"
    picked = _slice(dataset)
    picked = [picked[0], picked[2]]  # one answerable, one unanswerable: every rate has a denominator
    dataset.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    out = tmp_path / "naive"
    result = _run(["run", "--pipeline", "naive", "--dataset", str(dataset), "--out", str(out)], env)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _check_files(out)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    _check_summary(summary, 2)
    assert summary["pipeline"]["name"] == "naive" and summary["pipeline"]["k"] == 4
    assert summary["citation_precision"] is None  # the baseline never cites
    for r in rows:
        assert len(r["passages"]) == 4 and r["citations"] == []
        assert all(len(p["text"]) <= 1000 for p in r["passages"])
        assert r["refused"] == (not r["answer"].strip())
        assert r["timings"]["ttft_s"] is not None and r["timings"]["ttft_s"] <= r["timings"]["total_s"]
    # The baseline keeps its vectors in memory: the product's index was never built.
    assert not (Path(env["RAG_DATA_DIR"]) / "index" / "catalog.sqlite3").exists()


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_dataset_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    result = _run(["run", "--dataset", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")], env)
    assert result.returncode == 2
    line = _one_error_line(result)
    assert line.startswith("error: cannot read dataset") and "nope.jsonl" in line
    assert not (tmp_path / "o").exists()


def test_invalid_dataset_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "Where?", "answers": ["x"]}\n{"id": "b"}\n', encoding="utf-8")
    result = _run(["run", "--dataset", str(bad), "--out", str(tmp_path / "o")], env)
    assert result.returncode == 2
    line = _one_error_line(result)
    assert line.startswith("error: invalid dataset") and "bad.jsonl:2" in line


def test_empty_index_with_no_articles_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    dataset = tmp_path / "one.jsonl"
    dataset.write_text('{"id": "a", "question": "Where?", "answers": ["x"]}\n', encoding="utf-8")
    empty = tmp_path / "no-articles"
    empty.mkdir()
    result = _run(
        ["run", "--dataset", str(dataset), "--out", str(tmp_path / "o"), "--no-progress"],
        env | {"RAG_ARTICLES_DIR": str(empty)},
    )
    assert result.returncode == 3  # the index is missing, empty or damaged (README: exit codes)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the index is empty" in errors[0] and str(empty) in errors[0]
    assert "Traceback" not in result.stderr
