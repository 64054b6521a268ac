"""The evidence for the calibrated decision, as numbers.

An answer is a *candidate sentence* of a retrieved passage. Every sentence of every retrieved
passage is a candidate; for each, the features below say how well it answers the question (what
share of the question's words it holds, weighted by how rare they are; whether it has the kind
of answer asked for; how the passage ranked; whether the model quoted its phrase from it), and
what the model itself made of the question (its probability of "none" and of its phrase; the
optional yes/no check's P(yes) is not a feature: it hardly varies with these models). ``rag.judge``
weighs them with coefficients fitted on the train and dev splits (never test).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from index.lexical import STOPWORDS
from index.text_analysis import sentence_spans
from rag.refusal import adds_to_question, expected_answer_type, has_answer_type
from rag.text_match import content_terms, coverage, stem, strip_markers
from rag.types import Passage, Reading

# Word -> inverse document frequency over the index (``ArticleIndex.idf``).
IdfLookup = Callable[[list[str]], dict[str, float]]

CANDIDATE_FEATURES = (
    "q_coverage",
    "q_coverage_idf",
    "passage_coverage_idf",
    "missing_idf",
    "answer_type",
    "open_question",
    "adds_to_question",
    "passage_rank",
    "dense_score",
    "lexical_score",
    "caption",
    "log_length",
    "shown",
    "cosine",
    "phrase_here",
    "reply_overlap",
    "p_none",
    "phrase_logprob",
    "novelty",
    "neighbour_coverage_idf",
    "coverage_gap",
    "cosine_gap",
    "next_to_best_match",
    "quotation",
    "typed_answer",
    "pointer_mass",
)


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage that might answer the question."""

    passage: Passage
    start: int  # offsets into passage.text
    end: int
    shown: bool  # the model saw it

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]


def squash(text: str) -> str:
    return " ".join(text.split())


def candidates(passages: list[Passage], reading: Reading | None) -> list[Candidate]:
    shown = {(s.passage_n, s.start, s.end) for s in reading.sentences} if reading else set()
    found = []
    for passage in passages:
        for start, end in sentence_spans(passage.text):
            found.append(Candidate(passage, start, end, (passage.n, start, end) in shown))
    return found


def holds_phrase(candidate: Candidate, phrase: str) -> bool:
    """The structured answer's phrase was quoted from this sentence (normalised whitespace)."""
    phrase = squash(phrase).strip(" ,.;:")
    return bool(phrase) and phrase in squash(candidate.text)


def stem_weights(text: str, idf: IdfLookup | None) -> dict[str, float]:
    """The content terms of ``text`` (stemmed), each with its IDF (1.0 without an index)."""
    words = [w for w in text.replace("’", "'").split() if w]
    raw = [w.strip(".,;:!?\"'“”‘’()[]").lower() for w in words]
    weights = idf([w for w in raw if w]) if idf else {}
    terms = content_terms(text)
    out: dict[str, float] = {}
    for word in raw:
        if not word:
            continue
        key = stem(word)
        if key in terms:
            out[key] = max(out.get(key, 0.0), weights.get(word, 1.0))
    for key in terms - out.keys():  # numbers spelled as words, possessives...
        out[key] = 1.0
    return out


def weighted_coverage(weights: dict[str, float], terms: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in terms) / total if total else 0.0


class FeatureExtractor:
    def __init__(self, embedder: Embeddings, idf: IdfLookup | None = None) -> None:
        self.embedder = embedder
        self.idf = idf

    def candidate_features(
        self, question: str, topic: str, cands: list[Candidate], reading: Reading | None
    ) -> list[dict[str, float]]:
        """One feature dict per candidate, keys :data:`CANDIDATE_FEATURES`."""
        if not cands:
            return []
        weights = stem_weights(topic, self.idf)
        topic_terms = set(weights)
        kind = expected_answer_type(question)
        vectors = np.asarray(self.embedder.embed_documents([topic] + [c.text for c in cands]))
        cosines = vectors[1:] @ vectors[0]
        passage_terms = {c.passage.n: content_terms(c.passage.text) for c in cands}
        reply_terms = content_terms(strip_markers(reading.reply)[0]) if reading and reading.reply else set()
        phrase = reading.phrase if reading else ""
        pointer = pointer_masses(cands, reading)
        rows = []
        sentence_terms = [content_terms(c.text) for c in cands]
        covered = [weighted_coverage(weights, t) for t in sentence_terms]
        for i, (cand, cosine) in enumerate(zip(cands, cosines, strict=True)):
            terms = sentence_terms[i]
            p_terms = passage_terms[cand.passage.n]
            rows.append(
                {
                    "q_coverage": coverage(topic_terms, terms),
                    "q_coverage_idf": weighted_coverage(weights, terms),
                    "passage_coverage_idf": weighted_coverage(weights, p_terms),
                    "missing_idf": sum(w for t, w in weights.items() if t not in p_terms),
                    "answer_type": float(has_answer_type(cand.text, kind, topic)),
                    "open_question": float(kind == "any"),
                    "adds_to_question": float(adds_to_question(cand.text, topic)),
                    "passage_rank": 1.0 / cand.passage.n,
                    "dense_score": float(cand.passage.dense_score or 0.0),
                    "lexical_score": math.log1p(max(cand.passage.lexical_score or 0.0, 0.0)),
                    "caption": float(cand.passage.kind == "caption"),
                    "log_length": math.log(max(len(cand.text), 1)),
                    "shown": float(cand.shown),
                    "cosine": float(cosine),
                    "phrase_here": float(holds_phrase(cand, phrase)),
                    "reply_overlap": coverage(reply_terms, terms) if reply_terms else 0.0,
                    "p_none": _value(reading.p_none if reading else None, 0.5),
                    "phrase_logprob": _value(reading.phrase_logprob if reading else None, -3.0),
                    # An answer brings words the question lacks; a copy of the question does not.
                    "novelty": len(terms - topic_terms) / len(terms) if terms else 0.0,
                }
            )
        # How each sentence stands among the others: the answer is often the sentence that best
        # matches the question, or the one right beside it ("..." she said; the next sentence).
        best_cover = max(covered)
        best_cosine = float(max(cosines))
        matches = [i for i, c in enumerate(covered) if c == best_cover]
        for i, row in enumerate(rows):
            neighbours = [
                j for j in (i - 1, i + 1) if 0 <= j < len(cands) and cands[j].passage.n == cands[i].passage.n
            ]
            row["neighbour_coverage_idf"] = max((covered[j] for j in neighbours), default=0.0)
            row["coverage_gap"] = best_cover - covered[i]
            row["cosine_gap"] = best_cosine - row["cosine"]
            row["next_to_best_match"] = float(any(j in matches for j in neighbours) and i not in matches)
            row["quotation"] = float(cands[i].text.lstrip().startswith(("“", '"', "‘")))
            row["typed_answer"] = row["answer_type"] * (1.0 - row["open_question"])
            row["pointer_mass"] = pointer[i]
        return rows


def pointer_masses(cands: list[Candidate], reading: Reading | None) -> list[float]:
    """Where the model wanted to start its answer: the share of its first-token probability (its
    likeliest alternatives, before the grammar) on words that begin a word of each shown
    sentence. Function words and word pieces shorter than two letters point nowhere."""
    if reading is None or not reading.first_alternatives:
        return [0.0] * len(cands)
    words = [
        {w.strip(".,;:!?\"'“”‘’()[]").lower() for w in c.text.split()} if c.shown else set() for c in cands
    ]
    masses = [0.0] * len(cands)
    total = 0.0
    for token, logprob in reading.first_alternatives:
        key = token.strip().lower()
        if (len(key) < 2 and not key.isdigit()) or key in STOPWORDS:
            continue
        p = math.exp(logprob)
        total += p
        for i, vocab in enumerate(words):
            if any(w.startswith(key) for w in vocab):
                masses[i] += p
    return [m / total for m in masses] if total else masses


def _value(value: float | None, missing: float) -> float:
    """A model signal, or a neutral value where the backend gave none."""
    return missing if value is None else float(value)


ITEM_FEATURES = (
    "best_logit",
    "margin",
    "best_phrase_here",
    "best_answer_type",
    "best_q_coverage_idf",
    "best_missing_idf",
    "best_adds_to_question",
    "best_cosine",
    "open_question",
    "p_none",
    "phrase_logprob",
)


def item_features(rows: list[dict[str, float]], probabilities: list[float]) -> dict[str, float]:
    """What the answer-or-decline decision reads: the best candidate's features and how far it
    stands above the next one."""
    order = sorted(range(len(rows)), key=lambda i: -probabilities[i])
    best = rows[order[0]]
    p1 = min(max(probabilities[order[0]], 1e-6), 1 - 1e-6)
    p2 = probabilities[order[1]] if len(order) > 1 else 0.0
    return {
        "best_logit": math.log(p1 / (1 - p1)),
        "margin": p1 - p2,
        "best_phrase_here": best["phrase_here"],
        "best_answer_type": best["answer_type"],
        "best_q_coverage_idf": best["q_coverage_idf"],
        "best_missing_idf": best["missing_idf"],
        "best_adds_to_question": best["adds_to_question"],
        "best_cosine": best["cosine"],
        "open_question": best["open_question"],
        "p_none": best["p_none"],
        "phrase_logprob": best["phrase_logprob"],
    }
