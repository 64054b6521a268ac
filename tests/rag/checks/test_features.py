"""Candidate sentences and their features, on hand-made passages."""

from __future__ import annotations

from langchain_core.embeddings import DeterministicFakeEmbedding

from rag.checks.features import CANDIDATE_FEATURES, FeatureExtractor, candidates, holds_phrase, item_features
from rag.types import Passage, Reading, ShownSentence


def _passage(n: int, text: str) -> Passage:
    return Passage(
        n=n,
        chunk_id=f"c{n}",
        doc_id="d",
        title="T",
        publication="P",
        text=text,
        start=0,
        end=len(text),
        dense_score=0.5,
        lexical_score=3.0,
    )


PASSAGES = [
    _passage(1, "Two US drones circled above Baghuz. The town lies on the Euphrates."),
    _passage(2, "Kurdish forces took positions among the rubble."),
]


def test_every_sentence_of_every_passage_is_a_candidate_and_shown_ones_are_marked() -> None:
    reading = Reading(text="", sentences=[ShownSentence(passage_n=1, start=0, end=35)])
    cands = candidates(PASSAGES, reading)
    assert [c.text for c in cands] == [
        "Two US drones circled above Baghuz.",
        "The town lies on the Euphrates.",
        "Kurdish forces took positions among the rubble.",
    ]
    assert [c.shown for c in cands] == [True, False, False]
    assert holds_phrase(cands[0], "US  drones,") and not holds_phrase(cands[1], "US drones")


def test_features_say_which_sentence_answers() -> None:
    reading = Reading(
        text="Answer: Two US drones", phrase="Two US drones", reply="Two drones circled.", p_none=0.1
    )
    rare = {"drones": 3.0, "circled": 2.0, "baghuz": 0.2}
    extractor = FeatureExtractor(
        DeterministicFakeEmbedding(size=16), lambda words: {w: rare.get(w, 1.0) for w in words}
    )
    cands = candidates(PASSAGES, reading)
    rows = extractor.candidate_features(
        "How many drones circled above Baghuz?", "How many drones circled above Baghuz?", cands, reading
    )
    assert all(set(row) == set(CANDIDATE_FEATURES) for row in rows)
    drones, town, kurds = rows
    assert drones["q_coverage_idf"] == 1.0 and drones["answer_type"] == 1.0 and drones["phrase_here"] == 1.0
    assert town["phrase_here"] == 0.0 and town["answer_type"] == 0.0
    # Rare question words weigh more: the town sentence shares only the common "Baghuz" (not even that).
    assert town["q_coverage_idf"] < drones["q_coverage_idf"]
    assert kurds["missing_idf"] > drones["missing_idf"]
    assert drones["passage_rank"] == 1.0 and kurds["passage_rank"] == 0.5
    assert drones["p_none"] == 0.1 and "p_supported" not in drones  # the yes/no check is not a feature
    best = item_features(rows, [0.9, 0.2, 0.1])
    assert best["best_phrase_here"] == 1.0 and round(best["margin"], 6) == 0.7
