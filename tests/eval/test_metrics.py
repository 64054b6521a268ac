"""Every metric of eval/metrics.py on hand-made cases, with expected values worked out by hand."""

from __future__ import annotations

import pytest

from eval.metrics import (
    contains_answer,
    evidence_in_passage,
    exact_match,
    first_hit_rank,
    normalize_answer,
    percentile,
    token_f1,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Kurdish capital, Erbil!", "kurdish capital erbil"),
        ("50,000 people", "50000 people"),
        ("1,250,000", "1250000"),
        ("‘Isis’ is “about ideology”", "isis is about ideology"),
        ("A man and an officer", "man and officer"),
        ("  many\n\tspaces  ", "many spaces"),
        ("theatre then", "theatre then"),  # only whole-word articles go
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_thousands_separator_matches_both_ways() -> None:
    assert contains_answer("About 50,000 people fled.", ["50000"])
    assert contains_answer("About 50000 people fled.", ["50,000"])


def test_curly_quotes_match_straight_ones() -> None:
    assert contains_answer("He said it is “about ideology”.", ['"about ideology"'])
    assert contains_answer("Baghdadi’s men", ["Baghdadi's men"])


def test_articles_are_dropped() -> None:
    assert contains_answer("They reached the Euphrates.", ["Euphrates"])
    assert contains_answer("the caliphate", ["a caliphate"])
    assert exact_match("The Erbil.", ["erbil"]) == 1.0


def test_contains_answer_needs_whole_words() -> None:
    assert contains_answer("He is 53.", ["53"])
    assert not contains_answer("It was 1953.", ["53"])
    assert not contains_answer("Erbilistan", ["Erbil"])


def test_contains_answer_any_gold_and_empty_gold() -> None:
    assert contains_answer("two drones circled", ["2", "two"])
    assert not contains_answer("three drones circled", ["2", "two"])
    assert not contains_answer("anything at all", [""])
    assert not contains_answer("anything at all", [])


def test_exact_match() -> None:
    assert exact_match("Erbil", ["Mosul", "Erbil"]) == 1.0
    assert exact_match("Erbil city", ["Erbil"]) == 0.0
    assert exact_match("", ["Erbil"]) == 0.0


def test_token_f1_by_hand() -> None:
    # pred tokens kurdish/capital/erbil (the dropped), gold erbil: P 1/3, R 1, F1 0.5.
    assert token_f1("the Kurdish capital Erbil", ["Erbil"]) == pytest.approx(0.5)
    # Against "capital city": P 1/3, R 1/2, F1 0.4; the best gold (0.5) wins.
    assert token_f1("the Kurdish capital Erbil", ["capital city", "Erbil"]) == pytest.approx(0.5)
    assert token_f1("Erbil", ["Erbil"]) == pytest.approx(1.0)
    assert token_f1("Mosul", ["Erbil"]) == 0.0
    assert token_f1("", ["Erbil"]) == 0.0
    # Repeated tokens count once per occurrence in both: pred a a b vs gold a b -> common 2, P 2/3, R 1.
    assert token_f1("x x y", ["x y"]) == pytest.approx(0.8)


def test_evidence_verbatim_after_normalisation() -> None:
    passage = "In 2014, only US airstrikes saved the Kurdish capital, Erbil, from an Isis incursion."
    assert evidence_in_passage("only US airstrikes saved the Kurdish capital, Erbil", passage)
    assert evidence_in_passage("ONLY US AIRSTRIKES saved the Kurdish capital Erbil", passage)
    assert not evidence_in_passage("only French airstrikes saved Baghdad", passage)


def test_evidence_token_share_threshold() -> None:
    evidence = "alpha beta gamma delta epsilon zeta eta theta iota kappa"  # 10 tokens
    eight = "kappa iota theta eta zeta epsilon delta gamma and more"  # 8 of them, shuffled
    seven = "kappa iota theta eta zeta epsilon delta and more"
    assert evidence_in_passage(evidence, eight)
    assert not evidence_in_passage(evidence, seven)
    assert evidence_in_passage(evidence, seven, min_token_share=0.7)


def test_evidence_empty_is_never_found() -> None:
    assert not evidence_in_passage("", "any passage")
    assert not evidence_in_passage("the", "the passage")  # nothing left after normalisation


def test_first_hit_rank() -> None:
    passages = ["nothing here", "has alpha beta in it", "alpha beta again"]
    assert first_hit_rank("alpha beta", passages) == 2
    assert first_hit_rank("gamma delta", passages) is None
    assert first_hit_rank("alpha beta", []) is None


def test_percentile_by_hand() -> None:
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile([4, 1, 3, 2], 0) == 1
    assert percentile([4, 1, 3, 2], 100) == 4
    # (5 - 1) * 0.95 = 3.8: between the 4th and 5th values, 80% of the way.
    assert percentile([5, 1, 4, 2, 3], 95) == pytest.approx(4.8)
    assert percentile([7.5], 95) == 7.5
    assert percentile([], 50) is None
