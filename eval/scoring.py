"""Per-item metrics and their aggregation, overall and by category.

Every metric is defined once, in :data:`METRIC_DEFINITIONS` (the report and the README quote it).
Fractions are 0..1, times are seconds; a metric with nothing to measure (no unanswerable item, no
correct answer, ...) is ``None`` rather than a made-up 0.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from eval.dataset import EvalItem
from eval.metrics import (
    contains_answer,
    evidence_in_passage,
    exact_match,
    first_hit_rank,
    percentile,
    token_f1,
)
from eval.runner import PlayedItem
from rag.types import Answer, Citation

METRIC_DEFINITIONS: dict[str, str] = {
    "answer_accuracy": "answerable items answered (not refused) with a normalised gold answer contained "
    "in the normalised answer",
    "exact_match": "answerable items: the normalised answer equals a normalised gold answer (SQuAD v1.1)",
    "token_f1": "answerable items: best SQuAD token F1 of the answer against the gold answers",
    "refusal_rate_unanswerable": "unanswerable items the system refused (higher is better)",
    "false_refusal_rate": "answerable items the system refused (lower is better)",
    "citation_precision": "citations on answerable items whose passage (or quote) holds the evidence "
    "(normalised containment or ≥80% of its tokens)",
    "citation_recall": "correctly answered items with at least one citation holding the evidence",
    "hit_at_k": "answerable items whose evidence is in one of the k passages the answer was given",
    "mrr": "mean of 1/rank of the first passage holding the evidence (0 when none does)",
    "overall_accuracy": "all items handled right: answerable answered correctly, unanswerable refused",
    "ttft_p50_s": "median time from question to first generated token (seconds, incl. retrieval)",
    "ttft_p95_s": "95th percentile of the time to first token (seconds)",
    "total_p50_s": "median time from question to the checked answer (seconds)",
    "total_p95_s": "95th percentile of the total answer time (seconds)",
    "tokens_per_s": "generated tokens / time after the first token, summed over items "
    "(the checking after generation is included, so a lower bound on decoding speed)",
    "decode_tokens_per_s": "tokens after the first / time from first to last token, summed over items "
    "(the model's generation speed, the last token seen on the stream)",
    "after_generation_p50_s": "median time from the last token to the checked answer (citation check, "
    "refusal)",
}

# Citation markers ("[2]", "[1, 3]") are not part of the answer: "two drones [2]" must not match "2".
_MARKER = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")


def answer_text(text: str) -> str:
    """The answer without its citation markers, for scoring."""
    return _MARKER.sub("", text)


@dataclass(frozen=True)
class ItemMetrics:
    """What one item scored. ``None`` where the metric does not apply to the item."""

    answerable: bool
    refused: bool
    right: bool  # answerable and correct, or unanswerable and refused
    correct: bool | None  # answerable only
    exact_match: float | None
    token_f1: float | None
    evidence_rank: int | None  # 1-based rank of the first passage holding the evidence
    n_passages: int
    n_citations: int
    n_good_citations: int  # citations holding the evidence (answerable items with evidence)
    ttft_s: float | None
    total_s: float | None
    tokens: int
    last_token_s: float | None  # when the harness saw the last token; None without a stream
    stream_tokens: int | None  # non-empty token events the harness saw; None without a stream
    scored_evidence: bool  # the item has evidence and an answer, so retrieval/citations were scored
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def citation_holds_evidence(citation: Citation, answer: Answer, evidence: str) -> bool:
    """The cited passage (looked up by chunk id among the answer's passages, else the quote) holds
    the evidence."""
    passage = next((p for p in answer.passages if p.chunk_id == citation.chunk_id), None)
    return evidence_in_passage(evidence, passage.text if passage else citation.quote)


def score_item(
    item: EvalItem,
    answer: Answer | None,
    error: str | None = None,
    last_token_s: float | None = None,
    stream_tokens: int | None = None,
) -> ItemMetrics:
    if answer is None:
        # A failed item is wrong, and has no passages or timings to measure.
        return ItemMetrics(
            answerable=item.answerable,
            refused=False,
            right=False,
            correct=False if item.answerable else None,
            exact_match=0.0 if item.answerable else None,
            token_f1=0.0 if item.answerable else None,
            evidence_rank=None,
            n_passages=0,
            n_citations=0,
            n_good_citations=0,
            ttft_s=None,
            total_s=None,
            tokens=0,
            last_token_s=None,
            stream_tokens=None,
            scored_evidence=False,
            error=error or "no answer",
        )
    text = answer_text(answer.answer)
    refused = answer.refused
    if item.answerable:
        correct: bool | None = (not refused) and contains_answer(text, item.answers)
        em: float | None = 0.0 if refused else exact_match(text, item.answers)
        f1: float | None = 0.0 if refused else token_f1(text, item.answers)
        right = bool(correct)
    else:
        correct, em, f1 = None, None, None
        right = refused
    evidence = item.evidence if item.answerable and item.evidence else None
    rank = first_hit_rank(evidence, [p.text for p in answer.passages]) if evidence else None
    good = sum(citation_holds_evidence(c, answer, evidence) for c in answer.citations) if evidence else 0
    return ItemMetrics(
        answerable=item.answerable,
        refused=refused,
        right=right,
        correct=correct,
        exact_match=em,
        token_f1=f1,
        evidence_rank=rank,
        n_passages=len(answer.passages),
        n_citations=len(answer.citations),
        n_good_citations=good,
        ttft_s=answer.timings.ttft_s,
        total_s=answer.timings.total_s,
        tokens=answer.timings.tokens,
        last_token_s=last_token_s,
        stream_tokens=stream_tokens,
        scored_evidence=evidence is not None,
        error=error,
    )


def score_played(played: PlayedItem) -> ItemMetrics:
    return score_item(played.item, played.answer, played.error, played.last_token_s, played.stream_tokens)


def _share(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate(metrics: list[ItemMetrics]) -> dict[str, Any]:
    """The summary metrics of a set of scored items (overall, or one category)."""
    answerable = [m for m in metrics if m.answerable]
    unanswerable = [m for m in metrics if not m.answerable]
    correct = [m for m in answerable if m.correct]
    # Retrieval and citations are measured where there is evidence to look for and an answer.
    with_evidence = [m for m in answerable if m.scored_evidence]
    n_citations = sum(m.n_citations for m in with_evidence)
    n_good = sum(m.n_good_citations for m in with_evidence)
    correct_with_evidence = [m for m in correct if m.scored_evidence]
    timed = [m for m in metrics if m.total_s is not None]
    ttfts = [m.ttft_s for m in timed if m.ttft_s is not None]
    totals = [m.total_s for m in timed if m.total_s is not None]
    # Throughput over all items at once (a ratio of sums), so long answers weigh by their length.
    decode = [
        (m.tokens, m.total_s - m.ttft_s)
        for m in timed
        if m.ttft_s is not None and m.total_s is not None and m.tokens > 0 and m.total_s > m.ttft_s
    ]
    decode_s = sum(s for _, s in decode)
    # The model's own speed: tokens after the first over the time they took, both seen on the stream.
    streamed = [
        (m.stream_tokens - 1, m.last_token_s - m.ttft_s)
        for m in timed
        if m.ttft_s is not None and m.last_token_s is not None and m.stream_tokens and m.stream_tokens > 1
    ]
    streamed_s = sum(s for _, s in streamed)
    after = [
        m.total_s - m.last_token_s for m in timed if m.last_token_s is not None and m.total_s is not None
    ]
    return {
        "n_items": len(metrics),
        "answer_accuracy": _share(len(correct), len(answerable)),
        "exact_match": _mean([m.exact_match for m in answerable if m.exact_match is not None]),
        "token_f1": _mean([m.token_f1 for m in answerable if m.token_f1 is not None]),
        "refusal_rate_unanswerable": _share(sum(m.refused for m in unanswerable), len(unanswerable)),
        "false_refusal_rate": _share(sum(m.refused for m in answerable), len(answerable)),
        "citation_precision": _share(n_good, n_citations),
        "citation_recall": _share(
            sum(m.n_good_citations > 0 for m in correct_with_evidence), len(correct_with_evidence)
        ),
        "hit_at_k": _share(sum(m.evidence_rank is not None for m in with_evidence), len(with_evidence)),
        "mrr": _share(sum(1 / m.evidence_rank for m in with_evidence if m.evidence_rank), len(with_evidence)),
        "overall_accuracy": _share(sum(m.right for m in metrics), len(metrics)),
        "ttft_p50_s": percentile(ttfts, 50),
        "ttft_p95_s": percentile(ttfts, 95),
        "total_p50_s": percentile(totals, 50),
        "total_p95_s": percentile(totals, 95),
        "tokens_per_s": sum(t for t, _ in decode) / decode_s if decode_s > 0 else None,
        "decode_tokens_per_s": sum(t for t, _ in streamed) / streamed_s if streamed_s > 0 else None,
        "after_generation_p50_s": percentile(after, 50),
        "counts": {
            "answerable": len(answerable),
            "unanswerable": len(unanswerable),
            "correct": len(correct),
            "refused": sum(m.refused for m in metrics),
            "right": sum(m.right for m in metrics),
            "with_evidence": len(with_evidence),
            "citations": n_citations,
            "good_citations": n_good,
            "timed": len(timed),
            "errors": sum(m.error is not None for m in metrics),
        },
    }


def category_groups(item: EvalItem) -> dict[str, str]:
    """The groups an item is reported in: its kind, its article, the dataset's own category, and for
    unanswerable items whether (and how) they are adversarial."""
    groups = {"kind": item.kind, "doc": item.doc or "(none)"}
    if item.category:
        groups["category"] = item.category
    if not item.answerable:
        # Refusal is reported for the look-answerable (SQuAD 2.0) items apart from the plain ones.
        groups["unanswerable"] = "adversarial" if item.adversarial else "plain"
        if item.adversarial:
            groups["adversarial"] = item.adversarial
    return groups


def by_category(items: list[EvalItem], metrics: list[ItemMetrics]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{"kind": {"single-turn": {...}, ...}, "doc": {...}, "category": {...}}``, sorted by name."""
    grouped: dict[str, dict[str, list[ItemMetrics]]] = defaultdict(lambda: defaultdict(list))
    for item, m in zip(items, metrics, strict=True):
        for group, name in category_groups(item).items():
            grouped[group][name].append(m)
    return {
        group: {name: aggregate(members) for name, members in sorted(names.items())}
        for group, names in grouped.items()
    }
