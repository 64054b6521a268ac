"""The calibrated decision: which sentence answers, and whether to answer at all.

Two logistic regressions, fitted on train/dev runs by ``python -m eval calibrate`` and saved as a
small JSON file (``rag/calibration/<tier>.json``): the *ranker* scores every candidate sentence
(P(it holds the answer)); the *decider* reads the best candidate's features and the model's own
signals and gives P(the answer would be right). The product answers when that probability
reaches the file's threshold, chosen on dev for a stated refusal precision. No scikit-learn at
run time: a fitted model is a mean, a scale, coefficients and an intercept.
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import SettingsError
from core.settings import PROJECT_ROOT, Settings
from rag.checks.features import item_features

CALIBRATION_DIR = PROJECT_ROOT / "rag" / "calibration"


class CalibrationError(SettingsError):
    """The calibration file is missing or does not fit this code; the message says what to do."""


class LinearModel(BaseModel):
    """A standardised logistic regression: P = sigmoid(intercept + coef · (x - mean) / scale)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def probability(self, values: dict[str, float]) -> float:
        z = self.intercept
        for name, mean, scale, coef in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            z += coef * (values[name] - mean) / (scale or 1.0)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


class Calibration(BaseModel):
    model: str = Field(description="The model tier whose generations it was fitted on.")
    fitted_on: str = Field(description="The run (dataset, date) it was fitted on.")
    ranker: LinearModel
    decider: LinearModel
    threshold: float = Field(description="Least P(right) to answer.")
    refusal_precision: float = Field(description="The refusal precision the threshold was chosen for.")
    cross_validated: dict[str, float | None] = Field(default_factory=dict)


def calibration_path(settings: Settings) -> Path:
    if settings.calibration_file is not None:
        return Path(settings.calibration_file)
    tier = settings.llm_model if settings.llm_model in ("0.5b", "1.5b") else "0.5b"
    return CALIBRATION_DIR / f"{tier}.json"


def load_calibration(settings: Settings) -> Calibration:
    path = calibration_path(settings)
    try:
        return Calibration.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(
            f"no calibration file at {path}: fit one with `python -m eval calibrate RUN` "
            "or set RAG_JUDGEMENT=rules"
        ) from None
    except ValueError as exc:
        raise CalibrationError(f"{path} is not a calibration file ({str(exc).splitlines()[0]})") from None


class Judge:
    def __init__(self, calibration: Calibration, threshold: float | None = None) -> None:
        self.calibration = calibration
        self.threshold = calibration.threshold if threshold is None else threshold

    def rank(self, rows: list[dict[str, float]]) -> list[float]:
        """P(holds the answer) for each candidate."""
        return [self.calibration.ranker.probability(row) for row in rows]

    def decide(self, rows: list[dict[str, float]]) -> tuple[int | None, float]:
        """The best candidate and P(answering with it is right); (None, 0) without candidates."""
        if not rows:
            return None, 0.0
        scores = self.rank(rows)
        best = max(range(len(rows)), key=lambda i: scores[i])
        return best, self.calibration.decider.probability(item_features(rows, scores))
