"""Fit the calibrated decision on train/dev runs: ``python -m eval calibrate RUN [RUN ...]``.

From a run of the structured pipeline (its stored readings and passages, no model needed), every
candidate sentence gets its features (``rag.checks.features``) and a label (it holds a gold
answer and overlaps the evidence). Two logistic regressions are fitted (``rag.judge``):

1. the *ranker*, P(candidate holds the answer), on every candidate of every answerable item;
2. the *decider*, P(answering with the ranker's best candidate is right), on every item, from
   the best candidate's features with the ranker's scores taken out of fold (stacking: the
   decider must learn how good the ranker is on questions it has not seen).

Everything is cross-validated by item (grouped folds): the reported numbers are out of fold.
The threshold is the highest P(right) at which refusals stay at least ``refusal_precision``
right (a refusal is right when the item is unanswerable or its answer would have been wrong):
refuse as much as possible while that share holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from core.errors import InputError
from core.settings import Settings
from eval.dataset import EvalItem
from eval.metrics import contains_answer, normalize_answer
from eval.recheck import StoredRun
from index.embedding import make_embedder
from index.store import open_index
from rag.checks.features import CANDIDATE_FEATURES, ITEM_FEATURES, FeatureExtractor, candidates, item_features
from rag.condense import topic_question
from rag.judge import Calibration, Judge, LinearModel
from rag.types import Passage, Reading, Turn

FOLDS = 10
# Mild L2: a few hundred items, a dozen or two of features.
REGULARISATION_C = 1.0


class CalibrationDataError(InputError):
    """The run cannot be calibrated on (no structured readings, too few items)."""


@dataclass
class ItemData:
    item: EvalItem
    rows: list[dict[str, float]]
    texts: list[str]
    labels: list[bool]


def holds_answer(text: str, item: EvalItem) -> bool:
    """The sentence holds a gold answer and is (part of) the evidence, not a chance mention."""
    if not item.answerable or not contains_answer(text, item.answers):
        return False
    sentence, evidence = (
        set(normalize_answer(text).split()),
        set(normalize_answer(item.evidence or "").split()),
    )
    if not evidence:
        return True
    return len(sentence & evidence) >= 0.5 * min(len(sentence), len(evidence))


def collect(run: StoredRun, settings: Settings) -> list[ItemData]:
    """Candidates, features and labels of every item of ``run`` that has a reading."""
    embedder = make_embedder(settings)
    extractor = FeatureExtractor(embedder, open_index(settings, embedder).idf)
    data = []
    for row in run.rows:
        item = run.items.get(row["id"])
        if item is None or not row.get("reading"):
            continue
        reading = Reading.model_validate(row["reading"])
        fields = Passage.model_fields
        passages = [Passage(**{k: v for k, v in p.items() if k in fields}) for p in row["passages"]]
        history = [Turn(**t) for t in row["history"]]
        topic = topic_question(row["question"], history)
        cands = candidates(passages, reading)
        rows = extractor.candidate_features(row["question"], topic, cands, reading)
        data.append(
            ItemData(item, rows, [c.text for c in cands], [holds_answer(c.text, item) for c in cands])
        )
    if len(data) < 2 * FOLDS:
        raise CalibrationDataError(
            f"only {len(data)} items with structured readings: run the dev split with "
            "RAG_ANSWER_FORMAT=structured first"
        )
    return data


def answer_is_right(d: ItemData, best: int) -> bool:
    """Answering with candidate ``best`` is right: the item is answerable and it holds a gold answer."""
    return bool(d.item.answerable and contains_answer(d.texts[best], d.item.answers))


def _fit(x: np.ndarray, y: np.ndarray, names: tuple[str, ...] | list[str]) -> LinearModel:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=REGULARISATION_C, max_iter=2000).fit((x - mean) / scale, y)
    return LinearModel(
        features=list(names),
        mean=mean.round(6).tolist(),
        scale=scale.round(6).tolist(),
        coef=model.coef_[0].round(6).tolist(),
        intercept=round(float(model.intercept_[0]), 6),
    )


def _matrix(rows: list[dict[str, float]], names: tuple[str, ...] | list[str]) -> np.ndarray:
    return np.array([[row[n] for n in names] for row in rows], dtype=float)


@dataclass
class Fitted:
    calibration: Calibration
    # Out-of-fold, per item: P(right) of answering, whether that answer would be right.
    p_right: list[float]
    right_if_answered: list[bool]
    answerable: list[bool]
    adversarial: list[bool]


def fit(
    data: list[ItemData],
    model_name: str,
    fitted_on: str,
    refusal_precision: float,
    candidate_features: tuple[str, ...] = CANDIDATE_FEATURES,
    decision_features: tuple[str, ...] = ITEM_FEATURES,
) -> Fitted:
    groups = np.array([i for i, d in enumerate(data) for _ in d.rows])
    x = _matrix([r for d in data for r in d.rows], candidate_features)
    y = np.array([label for d in data for label in d.labels])
    answerable_rows = np.array([d.item.answerable for d in data for _ in d.rows])
    if y.sum() < FOLDS:
        raise CalibrationDataError("too few candidate sentences hold an answer to fit the ranker")
    # The ranker learns from answerable items only: which sentence answers, not whether any does.
    oof_rank = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        train = train[answerable_rows[train]]
        oof_rank[test] = _probabilities(_fit(x[train], y[train], candidate_features), x[test])
    ranker = _fit(x[answerable_rows], y[answerable_rows], candidate_features)

    item_rows, right = [], []
    for i, d in enumerate(data):
        scores = oof_rank[groups == i].tolist()
        item_rows.append(item_features(d.rows, scores))
        best = int(np.argmax(scores))
        right.append(answer_is_right(d, best))
    xi, yi = _matrix(item_rows, decision_features), np.array(right)
    item_groups = np.arange(len(data))
    oof_p = np.zeros(len(yi))
    for train, test in GroupKFold(n_splits=FOLDS).split(xi, yi, item_groups):
        oof_p[test] = _probabilities(_fit(xi[train], yi[train], decision_features), xi[test])
    decider = _fit(xi, yi, decision_features)

    answerable = [d.item.answerable for d in data]
    adversarial = [d.item.adversarial is not None for d in data]
    threshold = choose_threshold(oof_p.tolist(), right, refusal_precision)
    summary = operating_point(oof_p.tolist(), right, answerable, adversarial, threshold)
    summary["ranker_auc"] = _auc(y[answerable_rows], oof_rank[answerable_rows])
    summary["decider_auc"] = _auc(yi, oof_p)
    calibration = Calibration(
        model=model_name,
        fitted_on=fitted_on,
        ranker=ranker,
        decider=decider,
        threshold=round(threshold, 4),
        refusal_precision=refusal_precision,
        cross_validated={k: (round(v, 4) if v is not None else None) for k, v in summary.items()},
    )
    return Fitted(calibration, oof_p.tolist(), right, answerable, adversarial)


def _probabilities(model: LinearModel, x: np.ndarray) -> np.ndarray:
    return np.array([model.probability(dict(zip(model.features, row, strict=True))) for row in x])


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def refusal_precision_at(p_right: list[float], right: list[bool], threshold: float) -> float | None:
    refused = [r for p, r in zip(p_right, right, strict=True) if p < threshold]
    return sum(not r for r in refused) / len(refused) if refused else None


def choose_threshold(p_right: list[float], right: list[bool], target: float) -> float:
    """The highest threshold whose refusals are at least ``target`` right (0.5 if none is)."""
    best = None
    for threshold in sorted(set(p_right)):
        # Refusing below this value; ties go to answering.
        precision = refusal_precision_at(p_right, right, threshold)
        if precision is not None and precision >= target:
            best = threshold
    return best if best is not None else 0.5


def operating_point(
    p_right: list[float], right: list[bool], answerable: list[bool], adversarial: list[bool], threshold: float
) -> dict[str, Any]:
    """The metrics of answering when P(right) >= threshold."""
    answered = [p >= threshold for p in p_right]
    n_ans = sum(answerable)
    n_un = len(answerable) - n_ans
    n_adv = sum(adversarial)
    correct = sum(a and r for a, r, ok in zip(answered, right, answerable, strict=True) if ok)
    refused_un = sum(not a for a, ok in zip(answered, answerable, strict=True) if not ok)
    refused_adv = sum(not a for a, adv in zip(answered, adversarial, strict=True) if adv)
    false_refusals = sum(not a for a, ok in zip(answered, answerable, strict=True) if ok)
    return {
        "threshold": threshold,
        "answer_accuracy": correct / n_ans if n_ans else None,
        "refusal_rate_unanswerable": refused_un / n_un if n_un else None,
        "refusal_rate_adversarial": refused_adv / n_adv if n_adv else None,
        "false_refusal_rate": false_refusals / n_ans if n_ans else None,
        "overall_accuracy": (correct + refused_un) / len(answerable) if answerable else None,
        "refusal_precision": refusal_precision_at(p_right, right, threshold),
    }


def score_held_out(data: list[ItemData], calibration: Calibration) -> tuple[Fitted, dict[str, Any]]:
    """``calibration`` applied as it is to items it was not fitted on (the test split): the same
    numbers as the out-of-fold ones of ``fit``, so its curve shows where the default sits."""
    judge = Judge(calibration)
    p_right, right = [], []
    for d in data:
        best, p = judge.decide(d.rows)
        p_right.append(p)
        right.append(best is not None and answer_is_right(d, best))
    answerable = [d.item.answerable for d in data]
    adversarial = [d.item.adversarial is not None for d in data]
    summary = operating_point(p_right, right, answerable, adversarial, calibration.threshold)
    summary["decider_auc"] = _auc(np.array(right), np.array(p_right))
    return Fitted(calibration, p_right, right, answerable, adversarial), summary


def trade_off(fitted: Fitted, thresholds: list[float] | None = None) -> list[dict[str, Any]]:
    """The out-of-fold trade-off curve: refusals against false refusals, threshold by threshold."""
    grid = thresholds or [round(t, 2) for t in np.arange(0.05, 0.96, 0.05)]
    return [
        operating_point(fitted.p_right, fitted.right_if_answered, fitted.answerable, fitted.adversarial, t)
        for t in grid
    ]


def format_curve(curve: list[dict[str, Any]]) -> str:
    def pct(value: float | None) -> str:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"

    names = ["threshold", "answer accuracy", "unanswerable refused", "adversarial refused", "false refusals"]
    lines = ["| " + " | ".join([*names, "overall"]) + " |", "|---|---|---|---|---|---|"]
    keys = ("answer_accuracy", "refusal_rate_unanswerable", "refusal_rate_adversarial", "false_refusal_rate")
    for row in curve:
        cells = [f"{row['threshold']:.2f}", *(pct(row[k]) for k in keys), pct(row["overall_accuracy"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_calibration(calibration: Calibration, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calibration.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path
