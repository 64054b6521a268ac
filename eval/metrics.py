"""Scoring functions, each small and tested on hand-made cases.

Normalisation follows the official SQuAD v1.1 evaluation script (lower case, drop punctuation and
the articles a/an/the, collapse whitespace), plus two things news text needs: curly quotes are
straightened and thousands separators removed, so "50,000" matches "50000".
"""

from __future__ import annotations

import re
import string
from collections import Counter

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_THOUSANDS = re.compile(r"(?<=\d)[,.](?=\d{3}\b)")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation with quotes straightened and thousands separators removed."""
    text = _THOUSANDS.sub("", text.translate(_QUOTES).lower())
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def contains_answer(prediction: str, golds: list[str]) -> bool:
    """True when the normalised prediction contains any normalised gold answer (as whole words)."""
    pred = f" {normalize_answer(prediction)} "
    return any(g and f" {g} " in pred for g in (normalize_answer(x) for x in golds))


def exact_match(prediction: str, golds: list[str]) -> float:
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: list[str]) -> float:
    """Best SQuAD token F1 over the gold answers."""
    pred = _tokens(prediction)
    best = 0.0
    for gold in golds:
        ref = _tokens(gold)
        common = Counter(pred) & Counter(ref)
        same = sum(common.values())
        if not pred or not ref or same == 0:
            continue
        precision, recall = same / len(pred), same / len(ref)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def evidence_in_passage(evidence: str, passage: str, min_token_share: float = 0.8) -> bool:
    """The passage holds the evidence: verbatim after normalisation, or at least
    ``min_token_share`` of its tokens in order-free overlap (evidence crossing a chunk boundary)."""
    ev, psg = normalize_answer(evidence), normalize_answer(passage)
    if not ev:
        return False
    if ev in psg:
        return True
    ev_tokens = Counter(ev.split())
    overlap = sum((ev_tokens & Counter(psg.split())).values())
    return overlap / sum(ev_tokens.values()) >= min_token_share


def first_hit_rank(evidence: str, passages: list[str]) -> int | None:
    """1-based rank of the first passage holding the evidence, or None."""
    for rank, passage in enumerate(passages, start=1):
        if evidence_in_passage(evidence, passage):
            return rank
    return None


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
