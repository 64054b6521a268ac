"""Scoring and aggregation on hand-made answers; multi-turn playing with fake pipelines.

Expected values are worked out by hand in the comments, never taken from the code under test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from core.settings import Settings
from eval.dataset import EvalItem
from eval.naive import NaivePipeline
from eval.report import METRIC_KEYS, build_summary, write_run
from eval.runner import PlayedItem, play_all, play_item
from eval.scoring import aggregate, answer_text, by_category, score_item, score_played
from index.articles import article_files, load_document
from rag.engine import AnswerEvent, EmptyIndexError, QuestionError, TokenEvent
from rag.llm import LLMError
from rag.types import Answer, Citation, Passage, Timings, Turn

EVIDENCE_A = "only US airstrikes saved the Kurdish capital, Erbil"
EVIDENCE_B = "said the fighting had started several months earlier in Keshma"


def passage(n: int, text: str, chunk_id: str | None = None) -> Passage:
    return Passage(
        n=n,
        chunk_id=chunk_id or f"c{n}",
        doc_id="doc",
        title="T",
        publication="P",
        text=text,
        start=0,
        end=len(text),
    )


def citation(n: int, chunk_id: str, quote: str) -> Citation:
    return Citation(n=n, doc_id="doc", title="T", chunk_id=chunk_id, quote=quote, start=0, end=1, score=0.9)


def answer(
    text: str,
    passages: list[Passage] | None = None,
    citations: list[Citation] | None = None,
    refused: bool = False,
    ttft: float | None = 1.0,
    total: float = 2.0,
    tokens: int = 5,
) -> Answer:
    return Answer(
        question="q",
        standalone_question="q",
        answer=text,
        refused=refused,
        citations=citations or [],
        passages=passages or [],
        timings=Timings(ttft_s=ttft, total_s=total, tokens=tokens),
    )


def item(
    item_id: str,
    answers: list[str] | None = None,
    evidence: str | None = None,
    history: list[Turn] | None = None,
    doc: str = "d1",
    category: str | None = None,
) -> EvalItem:
    return EvalItem(
        id=item_id,
        question=f"question {item_id}?",
        answers=answers or [],
        answerable=bool(answers),
        evidence=evidence,
        doc=doc,
        history=history or [],
        category=category,
    )


# --- one item -------------------------------------------------------------------------------


def test_citation_markers_are_not_part_of_the_answer() -> None:
    assert answer_text("Two drones circled [2]. Then [1, 3] more.") == "Two drones circled. Then more."
    scored = score_item(item("x", ["2"], "two US drones"), answer("Drones circled above [2]."))
    assert scored.correct is False


def test_correct_answer_with_good_and_bad_citation() -> None:
    passages = [passage(1, f"In 2014, {EVIDENCE_A}, from Isis."), passage(2, "Unrelated text about Raqqa.")]
    citations = [citation(1, "c1", "In 2014"), citation(2, "c2", "Unrelated text")]
    m = score_item(item("a", ["Erbil"], EVIDENCE_A), answer("Erbil [1].", passages, citations))
    assert (m.correct, m.right, m.refused) == (True, True, False)
    assert (m.exact_match, m.token_f1) == (1.0, 1.0)
    assert m.evidence_rank == 1
    # The first citation's passage holds the evidence even though its short quote does not.
    assert (m.n_citations, m.n_good_citations) == (2, 1)


def test_citation_falls_back_to_its_quote_when_its_passage_is_not_given() -> None:
    good = citation(1, "gone", EVIDENCE_A)
    bad = citation(2, "also-gone", "something else entirely")
    m = score_item(item("a", ["Erbil"], EVIDENCE_A), answer("It was Erbil [1].", [], [good, bad]))
    assert (m.n_citations, m.n_good_citations) == (2, 1)
    assert m.evidence_rank is None


def test_refused_answerable_is_a_false_refusal() -> None:
    m = score_item(item("a", ["Erbil"], EVIDENCE_A), answer("The articles don't say Erbil.", refused=True))
    # A refusal is never correct, even when its text happens to contain the answer.
    assert (m.correct, m.right, m.refused, m.exact_match, m.token_f1) == (False, False, True, 0.0, 0.0)


def test_unanswerable_is_right_only_when_refused() -> None:
    refused = score_item(item("u"), answer("The articles don't say.", refused=True))
    answered = score_item(item("u"), answer("It was Mosul."))
    assert (refused.right, refused.correct, refused.exact_match) == (True, None, None)
    assert answered.right is False


def test_failed_item_is_wrong_and_untimed() -> None:
    m = score_item(item("a", ["Erbil"], EVIDENCE_A), None, "LLMError: boom")
    assert (m.right, m.correct, m.error, m.total_s, m.scored_evidence) == (
        False,
        False,
        "LLMError: boom",
        None,
        False,
    )


# --- aggregation ----------------------------------------------------------------------------


@pytest.fixture
def scored_set() -> tuple[list[EvalItem], list]:
    """Five items; the expected aggregates are worked out in the test below."""
    p_a = [passage(1, f"Yes: {EVIDENCE_A}."), passage(2, "Other text.")]
    p_b = [passage(1, "Raqqa was taken."), passage(2, f"She {EVIDENCE_B}.")]
    p_c = [passage(1, "Nothing relevant."), passage(2, "Still nothing.")]
    items = [
        # A: single-turn, correct, EM 1, F1 1, rank 1, citations 1 good + 1 bad.
        item("A", ["Erbil"], EVIDENCE_A, doc="d1", category="single"),
        # B: multi-turn, wrong, F1 0.5 (raqqa town vs keshma town), rank 2, one bad citation.
        item("B", ["Keshma town"], EVIDENCE_B, history=[Turn(user="who?", assistant="her")], doc="d1"),
        # C: single-turn, refused (false refusal), evidence not retrieved, no citations.
        item("C", ["Mosul"], "the battle for Mosul began", doc="d2", category="single"),
        # D: unanswerable, refused (right).
        item("D", doc="d2", category="unanswerable"),
        # E: unanswerable and adversarial (a swapped role), answered (wrong), with a citation that
        # must not count for precision.
        item("E", doc="d2", category="unanswerable").model_copy(update={"adversarial": "swap", "trap": "x"}),
    ]
    answers = [
        answer(
            "Erbil [1].", p_a, [citation(1, "c1", "x"), citation(2, "c2", "y")], ttft=1, total=3, tokens=10
        ),
        answer("Raqqa town [1].", p_b, [citation(1, "c1", "Raqqa")], ttft=2, total=4, tokens=4),
        answer("The articles don't say.", p_c, refused=True, ttft=3, total=5, tokens=6),
        answer("The articles don't say.", p_c, refused=True, ttft=4, total=6, tokens=2),
        answer("It was 2019 [1].", p_c, [citation(1, "c1", "Nothing")], ttft=5, total=7, tokens=8),
    ]
    return items, [score_item(i, a) for i, a in zip(items, answers, strict=True)]


def test_aggregate_by_hand(scored_set: tuple[list[EvalItem], list]) -> None:
    _, metrics = scored_set
    s = aggregate(metrics)
    assert s["n_items"] == 5
    assert s["answer_accuracy"] == pytest.approx(1 / 3)  # A of A, B, C
    assert s["exact_match"] == pytest.approx(1 / 3)  # 1, 0, 0
    assert s["token_f1"] == pytest.approx(0.5)  # (1 + 0.5 + 0) / 3
    assert s["refusal_rate_unanswerable"] == pytest.approx(0.5)  # D of D, E
    assert s["false_refusal_rate"] == pytest.approx(1 / 3)  # C
    assert s["citation_precision"] == pytest.approx(1 / 3)  # A: 1 of 2, B: 0 of 1; E not counted
    assert s["citation_recall"] == pytest.approx(1.0)  # the one correct item (A) has a good citation
    assert s["hit_at_k"] == pytest.approx(2 / 3)  # A rank 1, B rank 2, C none
    assert s["mrr"] == pytest.approx(0.5)  # (1 + 1/2 + 0) / 3
    assert s["overall_accuracy"] == pytest.approx(0.4)  # A and D
    assert s["ttft_p50_s"] == pytest.approx(3.0)  # ttft 1..5
    assert s["ttft_p95_s"] == pytest.approx(4.8)
    assert s["total_p50_s"] == pytest.approx(5.0)  # total 3..7
    assert s["total_p95_s"] == pytest.approx(6.8)
    assert s["tokens_per_s"] == pytest.approx(3.0)  # 30 tokens over 5 x 2 s
    assert s["decode_tokens_per_s"] is None  # no stream was seen
    assert s["counts"]["errors"] == 0 and s["counts"]["citations"] == 3


def test_by_category_groups_kind_doc_and_dataset_category(scored_set: tuple[list[EvalItem], list]) -> None:
    items, metrics = scored_set
    groups = by_category(items, metrics)
    assert set(groups) == {"kind", "doc", "category", "unanswerable", "adversarial"}
    kind = groups["kind"]
    assert {name: g["n_items"] for name, g in kind.items()} == {
        "multi-turn": 1,
        "single-turn": 2,
        "unanswerable": 2,
    }
    assert kind["single-turn"]["answer_accuracy"] == pytest.approx(0.5)  # A yes, C refused
    assert kind["multi-turn"]["answer_accuracy"] == 0.0
    assert kind["unanswerable"]["refusal_rate_unanswerable"] == pytest.approx(0.5)
    assert kind["unanswerable"]["answer_accuracy"] is None  # nothing answerable to measure
    assert groups["doc"]["d1"]["n_items"] == 2 and groups["doc"]["d2"]["n_items"] == 3
    # B has no dataset category, so only four items are grouped by it.
    assert {name: g["n_items"] for name, g in groups["category"].items()} == {"single": 2, "unanswerable": 2}
    # Refusal apart for the adversarial items: D (plain) was refused, E (adversarial) was not.
    assert {name: g["refusal_rate_unanswerable"] for name, g in groups["unanswerable"].items()} == {
        "adversarial": 0.0,
        "plain": 1.0,
    }
    assert list(groups["adversarial"]) == ["swap"]


def test_rates_are_none_without_a_denominator() -> None:
    only_unanswerable = aggregate([score_item(item("u"), answer("x", refused=True))])
    assert only_unanswerable["answer_accuracy"] is None
    assert only_unanswerable["false_refusal_rate"] is None
    assert only_unanswerable["citation_recall"] is None
    assert only_unanswerable["refusal_rate_unanswerable"] == 1.0


def test_decode_speed_uses_the_stream_end() -> None:
    # 11 tokens: 10 after the first, between 1 s and 3 s -> 5 tokens/s; total 4 s includes 1 s of checks.
    m = score_item(
        item("a", ["Erbil"], EVIDENCE_A),
        answer("Erbil", ttft=1.0, total=4.0, tokens=11),
        last_token_s=3.0,
        stream_tokens=11,
    )
    s = aggregate([m])
    assert s["decode_tokens_per_s"] == pytest.approx(5.0)
    assert s["tokens_per_s"] == pytest.approx(11 / 3)
    assert s["after_generation_p50_s"] == pytest.approx(1.0)


# --- playing items --------------------------------------------------------------------------


class RecordingPipeline:
    """Answers "A:<question>" and records the history each question was asked with."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str | None]]]] = []

    def ask(self, question: str, history: list[Turn]) -> Answer:
        self.calls.append((question, [(t.user, t.assistant) for t in history]))
        history.append(Turn(user="injected by a careless pipeline"))  # must not leak into the record
        return answer(f"A:{question}")


def test_multi_turn_is_played_turn_by_turn() -> None:
    pipeline = RecordingPipeline()
    history = [Turn(user="q1"), Turn(user="q2", assistant="given"), Turn(user="q3")]
    played = play_item(pipeline, item("m", ["x"], history=history))
    # q2 has its assistant text already: it is used as given, not asked again.
    assert pipeline.calls == [
        ("q1", []),
        ("q3", [("q1", "A:q1"), ("q2", "given")]),
        ("question m?", [("q1", "A:q1"), ("q2", "given"), ("q3", "A:q3")]),
    ]
    assert [(t.user, t.assistant) for t in played.history] == [
        ("q1", "A:q1"),
        ("q2", "given"),
        ("q3", "A:q3"),
    ]
    assert [a is not None for a in played.turn_answers] == [True, False, True]
    assert played.answer is not None and played.answer.answer == "A:question m?"


def test_single_turn_is_asked_once_with_empty_history() -> None:
    pipeline = RecordingPipeline()
    play_item(pipeline, item("s", ["x"]))
    assert pipeline.calls == [("question s?", [])]


class StreamingPipeline(RecordingPipeline):
    def stream(self, question: str, history: list[Turn]) -> Iterator[TokenEvent | AnswerEvent]:
        yield TokenEvent("Er")
        yield TokenEvent("")  # a closing chunk carries no text
        yield TokenEvent("bil")
        yield AnswerEvent(self.ask(question, history))


def test_streaming_pipeline_is_streamed() -> None:
    played = play_item(StreamingPipeline(), item("s", ["x"]))
    assert played.stream_tokens == 2
    assert played.last_token_s is not None and played.last_token_s >= 0


class FailingPipeline:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def ask(self, question: str, history: list[Turn]) -> Answer:
        raise self.exc


@pytest.mark.parametrize("exc", [QuestionError("too long"), LLMError("model gone")])
def test_item_errors_are_recorded_not_raised(exc: Exception) -> None:
    played = play_item(FailingPipeline(exc), item("e", ["x"]))
    assert played.answer is None and played.error is not None and str(exc) in played.error
    assert score_played(played).right is False


def test_run_level_errors_propagate() -> None:
    with pytest.raises(EmptyIndexError):
        play_item(FailingPipeline(EmptyIndexError("empty")), item("e", ["x"]))


def test_play_all_keeps_order_and_reports_each() -> None:
    seen: list[str] = []
    played = list(
        play_all(
            RecordingPipeline(), [item("1", ["x"]), item("2")], on_played=lambda p: seen.append(p.item.id)
        )
    )
    assert [p.item.id for p in played] == ["1", "2"] and seen == ["1", "2"]


# --- the run folder from hand-made answers -------------------------------------------------


def test_run_files_from_hand_made_answers(
    tmp_path: Path, make_settings: Callable[..., Settings], scored_set: tuple[list[EvalItem], list]
) -> None:
    items, _ = scored_set
    played = [
        PlayedItem(items[0], answer("Erbil [1].", [passage(1, EVIDENCE_A)], [citation(1, "c1", "q")])),
        PlayedItem(items[3], answer("The articles don't say.", refused=True)),
        PlayedItem(items[2], None, error="LLMError: boom"),
    ]
    metrics = [score_played(p) for p in played]
    settings = make_settings(llm_api_key="sk-secret", ui_username="u", ui_password="hunter2")
    summary = build_summary(
        metrics,
        by_category([p.item for p in played], metrics),
        settings,
        {"name": "fake", "k": 5},
        {"path": "x.jsonl", "sha256": "0", "n_items": 3},
        {"started_at": "now", "duration_s": 1.0},
    )
    paths = write_run(tmp_path / "run", played, metrics, summary)
    on_disk = json.loads(paths["summary"].read_text(encoding="utf-8"))
    for key in ["n_items", *METRIC_KEYS, "settings", "pipeline", "dataset", "by_category"]:
        assert key in on_disk
    assert on_disk["n_items"] == 3 and on_disk["counts"]["errors"] == 1
    assert on_disk["overall_accuracy"] == pytest.approx(2 / 3)  # A correct, D refused, C failed
    assert on_disk["settings"]["top_k"] == settings.top_k
    assert "sk-secret" not in paths["summary"].read_text() and "hunter2" not in paths["summary"].read_text()
    rows = [json.loads(line) for line in paths["results"].read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["A", "D", "C"]
    assert rows[0]["citations"][0]["holds_evidence"] is True
    assert rows[0]["passages"][0]["holds_evidence"] is True
    assert rows[2]["error"] == "LLMError: boom" and rows[2]["right"] is False
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = paths["report"].read_text(encoding="utf-8")
    assert "## By kind" in report and "| C |" in report  # the failed item is listed


# --- the naive baseline, with a fake LLM and embedder -----------------------------------------


class ScriptedChat(BaseChatModel):
    """Streams the given pieces, then an empty closing chunk as the real backends do."""

    pieces: list[str]
    prompts: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        self.prompts.append(str(messages[-1].content))
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(self.pieces)))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        self.prompts.append(str(messages[-1].content))
        for piece in [*self.pieces, ""]:
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


def test_naive_pipeline_with_fakes(settings: Settings) -> None:
    llm = ScriptedChat(pieces=["Er", "bil", "."])
    naive = NaivePipeline(settings, llm=llm, embedder=DeterministicFakeEmbedding(size=16))
    documents = {p.name: load_document(p, 2_000_000) for p in article_files(settings.articles_dir)}
    texts = {doc.doc_id: doc.text for doc in documents.values()}
    for chunk in naive.chunks.values():
        assert len(chunk.text) <= 1000
        assert texts[chunk.doc_id][chunk.start : chunk.start + len(chunk.text)] == chunk.text

    result = naive.ask("Which city was saved?", [Turn(user="earlier", assistant="ignored")])
    assert result.answer == "Erbil." and result.refused is False and result.citations == []
    assert len(result.passages) == 4 and [p.n for p in result.passages] == [1, 2, 3, 4]
    assert result.timings.tokens == 3  # the empty closing chunk is not a token
    assert result.timings.ttft_s is not None and result.timings.ttft_s <= result.timings.total_s
    # The classic stuff prompt: the tutorial's instruction, the passages, then the question.
    prompt = llm.prompts[-1]
    assert prompt.startswith("Use the following pieces of context to answer the question at the end.")
    assert result.passages[0].text in prompt and prompt.rstrip().endswith("Helpful Answer:")
    assert "earlier" not in prompt  # the tutorial's chain has no memory

    silent = NaivePipeline(
        settings, llm=ScriptedChat(pieces=["  "]), embedder=DeterministicFakeEmbedding(size=16)
    )
    empty = silent.ask("Which city was saved?", [])
    assert empty.refused is True and empty.refusal_reason == "empty"
