"""Engine logic with a scripted model over the real index: history in the prompt, and which
failures are reported as the model's."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from core.settings import Settings
from index.ingest import Ingestor
from index.store import ArticleIndex, open_index
from rag.engine import AnswerEngine
from rag.judge import CalibrationError
from rag.llm import LLMError
from rag.types import Turn
from tests.conftest import ARTICLES_DIR


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> ArticleIndex:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), cache_dir=model_cache)
    index = open_index(settings)
    Ingestor(index, show_progress=False).sync_folder(ARTICLES_DIR)
    return index


def scripted(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(AIMessage(r) for r in replies))


class BrokenModel(GenericFakeChatModel):
    def _generate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("socket closed")


def test_earlier_answers_enter_the_prompt_without_their_markers(index: ArticleIndex) -> None:
    settings = index.settings.model_copy(update={"answer_format": "free"})
    engine = AnswerEngine(settings, index=index, llm=scripted("unused"))
    history = [Turn(user="Who took the photo?", assistant="Delil Souleiman took it [2].")]
    messages = engine._messages(
        {"question": "When?", "standalone": "When?", "history": history, "passages": []}
    )
    assert [m.type for m in messages[:3]] == ["system", "human", "ai"]
    assert messages[2].content == "Delil Souleiman took it."


def test_a_model_failure_is_an_llm_error_with_the_cause(index: ArticleIndex) -> None:
    engine = AnswerEngine(index.settings, index=index, llm=BrokenModel(messages=iter([])))
    with pytest.raises(LLMError, match="ConnectionError: socket closed"):
        engine.ask("How many people emerged from Baghuz?")


def test_a_retrieval_failure_is_not_blamed_on_the_model(index: ArticleIndex, monkeypatch) -> None:
    engine = AnswerEngine(index.settings, index=index, llm=scripted("50,000 [1]."))

    def broken(query: str, k: int) -> list:
        raise OSError("disk gone")

    monkeypatch.setattr(index, "lexical_search", broken)
    with pytest.raises(OSError, match="disk gone"):
        engine.ask("How many people emerged from Baghuz?")


def test_a_missing_calibration_file_is_named_not_blamed_on_the_model(
    index: ArticleIndex, tmp_path: Path
) -> None:
    settings = index.settings.model_copy(
        update={"calibration_file": tmp_path / "gone.json", "support_check": False}
    )
    engine = AnswerEngine(settings, index=index, llm=scripted("Answer: 50,000"))
    with pytest.raises(CalibrationError, match="no calibration file") as caught:
        engine.ask("How many people emerged from Baghuz?")
    assert not isinstance(caught.value, LLMError)


def test_a_failing_llm_rewrite_is_an_llm_error(index: ArticleIndex) -> None:
    settings = index.settings.model_copy(update={"condense_mode": "llm"})
    engine = AnswerEngine(settings, index=index, llm=BrokenModel(messages=iter([])))
    history = [Turn(user="Who took the photo?", assistant="Delil Souleiman.")]
    with pytest.raises(LLMError, match="socket closed"):
        engine.ask("Where was he?", history)


def test_a_scripted_free_answer_is_checked_and_cited(index: ArticleIndex) -> None:
    settings = index.settings.model_copy(update={"answer_format": "free"})
    engine = AnswerEngine(settings, index=index, llm=scripted("About 50,000 people emerged from Baghuz [3]."))
    answer = engine.ask("How many people emerged from Baghuz?")
    assert not answer.refused
    assert answer.citations and all("50,000" in c.quote for c in answer.citations)
    assert answer.reading is None


def test_a_structured_answer_cites_the_sentence_its_phrase_comes_from(index: ArticleIndex) -> None:
    settings = index.settings.model_copy(update={"judgement": "rules", "support_check": False})
    reply = "Answer: 50,000\nReply: Up to 50,000 people emerged from Baghuz."
    engine = AnswerEngine(settings, index=index, llm=scripted(reply))
    answer = engine.ask("How many people emerged from Baghuz?")
    assert answer.reading is not None and answer.reading.phrase == "50,000"
    assert not answer.refused, answer.refusal_reason
    # One citation: exactly the sentence the phrase was quoted from, offsets into the article.
    [citation] = answer.citations
    assert "50,000" in citation.quote
    document = index.document(citation.doc_id)
    assert document is not None and document.text[citation.start : citation.end] == citation.quote
    assert "50,000" in answer.answer and f"[{citation.n}]" in answer.answer


def test_a_structured_answer_the_model_wanted_to_decline_is_refused(index: ArticleIndex) -> None:
    settings = index.settings.model_copy(update={"judgement": "rules", "support_check": False})
    engine = AnswerEngine(settings, index=index, llm=scripted("Answer: none"))
    answer = engine.ask("How many people emerged from Baghuz?")
    assert answer.refused
