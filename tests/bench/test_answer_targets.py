"""The answer benchmark's target rows, from a hand-made result (no model)."""

from __future__ import annotations

from typing import Any

from bench.answer import targets


def _result(check_p50: float | None) -> dict[str, Any]:
    default = {
        "ttft_s": {"p50": 1.2},
        "total_s": {"p50": 4.0},
        "peak_rss_mb": 1200.0,
        "support_check_s": {"n": 0 if check_p50 is None else 3, "p50": check_p50},
    }
    return {"default": default, "ratios_default_over_rules": {"ttft_p50": 1.1}}


def test_the_support_check_has_a_target_only_when_it_ran() -> None:
    off = {row["name"]: row for row in targets(_result(None))}
    assert not any("support check" in name for name in off)
    assert off["time to first token p50, vs free answers with rules (same run)"]["met"] is True
    on = {row["name"]: row for row in targets(_result(0.54))}
    check = on["yes/no support check on the cached prompt p50"]
    assert check["value"] == 0.54 and check["met"] is False
    assert {row["name"]: row for row in targets(_result(0.2))}[check["name"]]["met"] is True
