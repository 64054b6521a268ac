"""`compare` on two hand-made run folders: deltas, verdicts and the items that flipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.__main__ import main
from eval.compare import CompareError, compare_runs, load_run, render


def write_run(folder: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True)
    base = {"pipeline": {"name": folder.name}, "dataset": {"path": "dev.jsonl", "sha256": "abc"}}
    (folder / "summary.json").write_text(json.dumps(base | summary), encoding="utf-8")
    with (folder / "results.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({"kind": "single-turn", "question": f"Q {row['id']}?"} | row) + "\n")
    return folder


def row(item_id: str, right: bool, answer: str = "an answer", refused: bool = False) -> dict[str, Any]:
    return {"id": item_id, "right": right, "answer": answer, "refused": refused, "error": None}


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    a = write_run(
        tmp_path / "A",
        {
            "n_items": 4,
            "answer_accuracy": 0.5,
            "false_refusal_rate": 0.25,
            "total_p50_s": 2.0,
            "tokens_per_s": 30.0,
            "citation_recall": None,
            "settings": {"top_k": 5, "temperature": 0.0},
        },
        [row("x1", True, "Erbil"), row("x2", False, "Mosul"), row("x3", True), row("only-a", True)],
    )
    b = write_run(
        tmp_path / "B",
        {
            "n_items": 4,
            "answer_accuracy": 0.75,
            "false_refusal_rate": 0.5,
            "total_p50_s": 1.5,
            "tokens_per_s": 30.0,
            "citation_recall": 0.5,
            "settings": {"top_k": 7, "temperature": 0.0},
        },
        [
            row("x1", False, "The articles don't say.", refused=True),
            row("x2", True, "Keshma"),
            row("x3", True),
            row("only-b", False),
        ],
    )
    return a, b


def test_deltas_and_verdicts(runs: tuple[Path, Path]) -> None:
    comparison = compare_runs(load_run(runs[0]), load_run(runs[1]))
    deltas = {d.key: d for d in comparison.deltas}
    assert deltas["answer_accuracy"].delta == pytest.approx(0.25)
    assert deltas["answer_accuracy"].verdict == "better"
    # Lower is better for refusals of answerable items and for latency.
    assert deltas["false_refusal_rate"].delta == pytest.approx(0.25)
    assert deltas["false_refusal_rate"].verdict == "worse"
    assert deltas["total_p50_s"].delta == pytest.approx(-0.5)
    assert deltas["total_p50_s"].verdict == "better"
    assert deltas["tokens_per_s"].delta == 0 and deltas["tokens_per_s"].verdict == ""
    # A metric missing on one side has no delta rather than a wrong one.
    assert deltas["citation_recall"].delta is None and deltas["citation_recall"].verdict == ""
    assert deltas["n_items"].delta == 0


def test_flipped_items(runs: tuple[Path, Path]) -> None:
    comparison = compare_runs(load_run(runs[0]), load_run(runs[1]))
    assert comparison.right_to_wrong == ["x1"]
    assert comparison.wrong_to_right == ["x2"]
    assert comparison.only_in_a == ["only-a"] and comparison.only_in_b == ["only-b"]
    assert comparison.changed_settings == {"top_k": (5, 7)}


def test_rendered_table_and_lists(runs: tuple[Path, Path]) -> None:
    text = render(compare_runs(load_run(runs[0]), load_run(runs[1])))
    table = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith("answer_")}
    assert table["answer_accuracy"] == ["0.500", "0.750", "+0.250", "better"]
    right_to_wrong = text.split("right → wrong (1):")[1].split("wrong → right")[0]
    assert "x1" in right_to_wrong and "Q x1?" in right_to_wrong and "(refused)" in right_to_wrong
    assert "x2" not in right_to_wrong
    assert "wrong → right (1):" in text and "Keshma" in text
    assert "top_k: 5 → 7" in text


def test_cli_compare(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(runs[0]), str(runs[1])]) == 0
    out = capsys.readouterr().out
    assert "right → wrong (1):" in out and "B−A" in out


def test_not_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CompareError, match="not a run folder"):
        load_run(tmp_path)
    assert main(["compare", str(tmp_path), str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "not a run folder" in err[0]


def test_different_datasets_are_flagged(tmp_path: Path) -> None:
    a = write_run(tmp_path / "A", {"n_items": 1}, [row("x", True)])
    b = write_run(tmp_path / "B", {"n_items": 1, "dataset": {"path": "test.jsonl", "sha256": "def"}}, [])
    text = render(compare_runs(load_run(a), load_run(b)))
    assert "warning: different datasets" in text
