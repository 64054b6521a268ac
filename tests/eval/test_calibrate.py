"""Fitting the calibrated decision: on data where the answer is knowable, it is learned, and the
threshold keeps the stated share of refusals right."""

from __future__ import annotations

import random

from eval.calibrate import (
    ItemData,
    choose_threshold,
    fit,
    operating_point,
    refusal_precision_at,
    score_held_out,
    trade_off,
)
from eval.dataset import EvalItem
from rag.checks.features import CANDIDATE_FEATURES
from rag.judge import Judge


def _synthetic(n_items: int = 120, seed: int = 7) -> list[ItemData]:
    """Answerable items have one candidate with high question coverage that holds the answer
    (adversarial ones a look-alike that does not); the model's p_none is low for answerable items
    and high for unanswerable ones, with noise."""
    rng = random.Random(seed)
    data = []
    for i in range(n_items):
        answerable = i % 3 != 0
        item = EvalItem(
            id=f"i{i}",
            question="How many?",
            answers=["two"] if answerable else [],
            answerable=answerable,
            evidence="two drones" if answerable else None,
            adversarial="number" if not answerable and i % 2 else None,
            trap="x" if not answerable and i % 2 else None,
        )
        p_none = min(max(rng.gauss(0.2 if answerable else 0.6, 0.25), 0.0), 1.0)
        rows, texts, labels = [], [], []
        gold = rng.randrange(5) if answerable else -1
        for j in range(5):
            row = {name: rng.random() * 0.3 for name in CANDIDATE_FEATURES}
            row["p_none"] = p_none
            # Adversarial items have a sentence that looks like the answer: only p_none can tell.
            if j == gold or (j == 0 and item.adversarial):
                row["q_coverage_idf"] = 0.7 + rng.random() * 0.3
            rows.append(row)
            texts.append("two drones circled" if j == gold else "nothing here")
            labels.append(j == gold)
        data.append(ItemData(item, rows, texts, labels))
    return data


def test_the_ranker_and_decider_learn_what_answers() -> None:
    fitted = fit(_synthetic(), "test", "synthetic", refusal_precision=0.9)
    cv = fitted.calibration.cross_validated
    assert cv["ranker_auc"] > 0.9
    assert cv["decider_auc"] > 0.8
    assert cv["refusal_precision"] is None or cv["refusal_precision"] >= 0.9
    # The fitted file's models run without scikit-learn and agree with what was fitted.
    judge = Judge(fitted.calibration)
    item = _synthetic(3, seed=99)[1]
    best, p = judge.decide(item.rows)
    assert item.labels[best] and 0.0 <= p <= 1.0


def test_the_threshold_is_the_highest_with_the_stated_refusal_precision() -> None:
    p_right = [0.1, 0.2, 0.3, 0.6, 0.8, 0.9]
    right = [False, False, True, False, True, True]
    # Refusing below 0.3 refuses two wrong answers (precision 1.0); below 0.6 adds a right one.
    assert refusal_precision_at(p_right, right, 0.3) == 1.0
    assert refusal_precision_at(p_right, right, 0.6) == 2 / 3
    assert choose_threshold(p_right, right, 0.9) == 0.3
    assert choose_threshold(p_right, right, 0.7) == 0.8  # 3 of 4 refusals right
    assert choose_threshold(p_right, right, 0.6) == 0.9  # 3 of 5
    point = operating_point(p_right, right, [True] * 6, [False] * 6, 0.3)
    assert point["answer_accuracy"] == 3 / 6 and point["false_refusal_rate"] == 2 / 6


def test_the_trade_off_curve_refuses_more_as_the_threshold_rises() -> None:
    curve = trade_off(fit(_synthetic(), "test", "synthetic", refusal_precision=0.9))
    refused = [row["refusal_rate_unanswerable"] for row in curve]
    assert refused == sorted(refused) and refused[0] < refused[-1]


def test_a_fitted_calibration_scores_items_it_was_not_fitted_on() -> None:
    fitted = fit(_synthetic(seed=7), "test", "synthetic", refusal_precision=0.9)
    held_out, summary = score_held_out(_synthetic(seed=8), fitted.calibration)
    assert summary["decider_auc"] > 0.8
    assert summary["threshold"] == fitted.calibration.threshold
    # The held-out curve is the same function of the threshold as the out-of-fold one.
    curve = trade_off(held_out)
    for key in ("refusal_rate_unanswerable", "false_refusal_rate"):
        rates = [row[key] for row in curve]
        assert rates == sorted(rates)
    assert summary == {
        **operating_point(
            held_out.p_right,
            held_out.right_if_answered,
            held_out.answerable,
            held_out.adversarial,
            fitted.calibration.threshold,
        ),
        "decider_auc": summary["decider_auc"],
    }
