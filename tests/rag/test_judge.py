"""The calibrated decision: a fitted file loads, scores candidates and decides."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from core.settings import Settings
from rag.checks.features import CANDIDATE_FEATURES, ITEM_FEATURES
from rag.judge import Calibration, CalibrationError, Judge, LinearModel, calibration_path, load_calibration


def _model(names: tuple[str, ...], weights: dict[str, float], intercept: float = 0.0) -> LinearModel:
    return LinearModel(
        features=list(names),
        mean=[0.0] * len(names),
        scale=[1.0] * len(names),
        coef=[weights.get(n, 0.0) for n in names],
        intercept=intercept,
    )


def _calibration(threshold: float = 0.5) -> Calibration:
    return Calibration(
        model="test",
        fitted_on="hand-made",
        ranker=_model(CANDIDATE_FEATURES, {"q_coverage_idf": 4.0}, -2.0),
        decider=_model(ITEM_FEATURES, {"best_logit": 1.0, "p_none": -4.0}),
        threshold=threshold,
        refusal_precision=0.85,
    )


def _row(**values: float) -> dict[str, float]:
    return {name: 0.0 for name in CANDIDATE_FEATURES} | values


def test_a_linear_model_is_a_standardised_logistic_regression() -> None:
    model = LinearModel(features=["a"], mean=[1.0], scale=[2.0], coef=[3.0], intercept=0.5)
    assert math.isclose(model.probability({"a": 3.0}), 1 / (1 + math.exp(-(0.5 + 3.0))))


def test_the_judge_picks_the_best_candidate_and_weighs_the_model_signals() -> None:
    judge = Judge(_calibration())
    rows = [_row(q_coverage_idf=0.2), _row(q_coverage_idf=0.9)]
    best, p = judge.decide(rows)
    assert best == 1 and p > 0.5
    doubtful = [_row(q_coverage_idf=0.2, p_none=0.8), _row(q_coverage_idf=0.9, p_none=0.8)]
    assert judge.decide(doubtful)[1] < 0.5
    assert judge.decide([]) == (None, 0.0)


def test_the_shipped_calibration_loads_and_names_only_known_features() -> None:
    path = calibration_path(Settings())
    calibration = load_calibration(Settings())
    assert path.name == "0.5b.json"
    assert set(calibration.ranker.features) <= set(CANDIDATE_FEATURES)
    assert set(calibration.decider.features) <= set(ITEM_FEATURES)
    assert 0.0 < calibration.threshold < 1.0


def test_a_missing_or_broken_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="python -m eval calibrate"):
        load_calibration(Settings(calibration_file=tmp_path / "none.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(CalibrationError, match="not a calibration file"):
        load_calibration(Settings(calibration_file=bad))
