"""Wilson intervals and the run table, checked against values worked out by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.table import Rate, TableError, table, wilson


def test_wilson_matches_the_textbook_values() -> None:
    # 5 of 10: centre 0.5, half-width 1.96 * sqrt(0.025 + 0.0096) / 1.384 = 0.2634.
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    # 0 of 10 does not collapse to [0, 0] the way p ± z*sqrt(p(1-p)/n) does: upper 3.84/13.84.
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson(10, 10)[1] == pytest.approx(1.0) and wilson(10, 10)[0] == pytest.approx(0.7225, abs=1e-4)
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_a_rate_cell_shows_the_share_and_its_interval() -> None:
    assert Rate(5, 10).cell() == "0.500 [0.24, 0.76]"
    assert Rate(0, 0).cell() == "–"


def summary(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "n_items": 20,
        "refusal_rate_unanswerable": 0.5,  # 5 of 10
        "false_refusal_rate": 0.2,  # 2 of 10
        "ttft_p50_s": 1.234,
        "total_p50_s": 2.5,
        "counts": {
            "answerable": 10,
            "unanswerable": 10,
            "correct": 7,
            "right": 12,
            "citations": 8,
            "good_citations": 8,
        },
        "by_category": {
            "unanswerable": {
                "adversarial": {"refusal_rate_unanswerable": 0.25, "counts": {"unanswerable": 4}}
            }
        },
    }
    return base | overrides


def test_the_table_has_one_row_per_run_with_counts_behind_each_rate(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary()))
    out = table([("calibrated", run)])
    header, _rule, row = out.splitlines()
    assert header.startswith("| pipeline | answer accuracy | unanswerable refused | adversarial refused")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "calibrated"
    assert cells[1].startswith("0.700 [")  # 7 of 10 answerable right
    assert cells[2].startswith("0.500 [") and cells[3].startswith("0.250 [")  # 1 of 4 adversarial
    assert cells[4].startswith("0.200 [") and cells[5].startswith("1.000 [")
    assert cells[6].startswith("0.600 [")  # 12 of 20
    assert cells[7:] == ["1.23 s", "2.50 s"]


def test_the_cli_names_a_bad_run_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", f"x={tmp_path / 'missing'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "missing" in err and "\n" not in err
    with pytest.raises(TableError):
        table([("x", tmp_path)])
