"""Free-text answers streamed sentence by sentence, each shown only once checked: the engine with
a scripted model over the real index and the real verifier, and the prefix rule on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from core.settings import Settings
from index.ingest import Ingestor
from index.store import ArticleIndex, open_index
from rag.checked_stream import complete_prefix
from rag.engine import AnswerEngine, AnswerEvent, SentenceEvent, TokenEvent
from tests.conftest import ARTICLES_DIR

QUESTION = "How many people emerged from Baghuz?"
FACT = "Up to 50,000 people emerged from a corner of the town [1]."


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> ArticleIndex:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        cache_dir=model_cache,
        answer_format="free",
        judgement="rules",
    )
    index = open_index(settings)
    Ingestor(index, show_progress=False).sync_folder(ARTICLES_DIR)
    return index


def run(index: ArticleIndex, reply: str, question: str = QUESTION) -> list:
    # The fake model streams its reply word by word, as a real one streams tokens.
    llm = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
    return list(AnswerEngine(index.settings, index=index, llm=llm).stream(question))


def shown_and_final(events: list) -> tuple[list[SentenceEvent], AnswerEvent]:
    shown = [e for e in events if isinstance(e, SentenceEvent)]
    (final,) = [e for e in events if isinstance(e, AnswerEvent)]
    return shown, final


def test_a_checked_sentence_is_shown_while_the_model_still_writes(index: ArticleIndex) -> None:
    events = run(index, f"{FACT} Isis lost more than 1,500 men in Kobane for no apparent gain [2].")
    shown, final = shown_and_final(events)
    assert shown, "the first sentence, once complete and checked, is shown"
    assert "50,000" in shown[0].answer.answer and "Kobane" not in shown[0].answer.answer
    assert shown[0].answer.citations  # with its citation chip
    # Shown before the model's last token.
    last_token = max(i for i, e in enumerate(events) if isinstance(e, TokenEvent))
    assert events.index(shown[0]) < last_token
    # Everything shown is in the final answer, in order, with the same citations.
    for event in shown:
        assert final.answer.answer.startswith(event.answer.answer)
        assert final.answer.citations[: len(event.answer.citations)] == event.answer.citations


def test_a_shown_sentence_is_never_withdrawn(index: ArticleIndex) -> None:
    # Checked on its own, the closing decline would turn the whole answer into a refusal.
    raw = f"{FACT} The articles don't say."
    whole = AnswerEngine(index.settings, index=index, llm=GenericFakeChatModel(messages=iter([]))).verifier
    settings = index.settings
    assert whole.verify(QUESTION, [], QUESTION, _passages(index, settings), raw).refused

    shown, final = shown_and_final(run(index, raw))
    assert len(shown) == 1
    assert not final.answer.refused
    assert final.answer.answer == shown[0].answer.answer
    assert final.answer.raw_answer == FACT  # what was checked: the answer stopped there
    assert final.answer.timings.total_s > 0


def test_an_unsupported_answer_is_a_refusal_from_the_start(index: ArticleIndex) -> None:
    moon = "The moon is made of green cheese [1]. It orbits Mars every week [2]."
    shown, final = shown_and_final(run(index, moon, "What is the moon made of?"))
    assert shown == []
    assert final.answer.refused


def test_structured_answers_are_not_streamed_by_sentence(index: ArticleIndex) -> None:
    settings = index.settings.model_copy(update={"answer_format": "structured", "judgement": "rules"})
    reply = AIMessage("Answer: 50,000 people\nReply: Up to 50,000 people emerged.")
    llm = GenericFakeChatModel(messages=iter([reply, AIMessage("yes")]))  # the answer, the yes/no check
    events = list(AnswerEngine(settings, index=index, llm=llm).stream(QUESTION))
    assert not any(isinstance(e, SentenceEvent) for e in events)
    assert isinstance(events[-1], AnswerEvent)


def _passages(index: ArticleIndex, settings: Settings) -> list:
    from rag.retrieval import HybridRetriever

    return HybridRetriever(index, settings).retrieve(QUESTION)


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ("", ""),
        ("One sentence so far", ""),
        ("One sentence. Two", "One sentence."),
        ("Fact one [1]. Fact two [2]. Fact th", "Fact one [1]. Fact two [2]."),
        # A marker after the full stop belongs to the sentence before it.
        ("Fact one. [1] Fact two", "Fact one. [1]"),
        ("Mr. Maher said so [2]. He", "Mr. Maher said so [2]."),
        ("Fact one [1].", ""),  # the last sentence waits for the next one, or for the end
    ],
)
def test_complete_prefix(raw: str, prefix: str) -> None:
    assert complete_prefix(raw) == prefix
