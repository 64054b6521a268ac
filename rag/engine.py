"""The answer engine: the public entry point of ``rag`` for the CLI, the chat and the evaluation.

The LCEL chain goes {question, history} -> standalone question -> passages -> streamed model
answer; :meth:`AnswerEngine.stream` yields the tokens as they come and then the checked
:class:`Answer`, whose every sentence is tied to the span that supports it, or a refusal. Free-text
answers also yield the checked answer so far whenever a sentence is complete and passes
(:mod:`rag.checked_stream`): a front end may show those, never the raw tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from core.errors import NewsQAError, StoreError
from core.settings import Settings
from index.embedding import make_embedder
from index.store import ArticleIndex, open_index
from rag.checked_stream import SentenceStream
from rag.condense import carry_query, llm_rewrite
from rag.injection import neutralise
from rag.llm import as_llm_error, make_llm, model_label
from rag.prompts import load_prompt
from rag.questions import QuestionError, validate_history, validate_question
from rag.reader import StructuredReader, reading_messages, sentence_text, shown_sentences
from rag.retrieval import HybridRetriever, focus
from rag.text_match import content_terms, strip_markers
from rag.types import Answer, Passage, ShownSentence, Timings, Turn
from rag.verify import AnswerVerifier

__all__ = [
    "AnswerEngine",
    "AnswerEvent",
    "EmptyIndexError",
    "QuestionError",
    "TokenEvent",
    "require_articles",
]


class EmptyIndexError(StoreError):
    """No articles are indexed yet."""


def require_articles(index: ArticleIndex) -> None:
    """Raise :class:`EmptyIndexError` when there is nothing to answer from."""
    if index.is_empty():
        raise EmptyIndexError("No articles are indexed yet: run `python -m index build` or add articles.")


@dataclass(frozen=True)
class TokenEvent:
    text: str


@dataclass(frozen=True)
class SentenceEvent:
    """The checked answer so far (free-text answers): every sentence of it is in the final answer."""

    answer: Answer


@dataclass(frozen=True)
class AnswerEvent:
    answer: Answer


@dataclass(frozen=True)
class Prompt:
    """What the model is asked: the messages, and the sentences a structured answer may quote."""

    messages: list[BaseMessage]
    sentences: list[ShownSentence]


class AnswerEngine:
    def __init__(
        self, settings: Settings, index: ArticleIndex | None = None, llm: BaseChatModel | None = None
    ) -> None:
        self.settings = settings
        self.index = index or open_index(settings)
        self.llm = llm or make_llm(settings)
        self.retriever = HybridRetriever(self.index, settings)
        self.verifier = AnswerVerifier(settings, make_embedder(settings), self.index)
        self.reader = StructuredReader(self.llm, settings)
        self.model = model_label(settings) if llm is None else type(llm).__name__
        self.chain = self._build_chain()

    # --- the chain --------------------------------------------------------------------------
    def _build_chain(self) -> Runnable:
        return (
            RunnablePassthrough.assign(standalone=RunnableLambda(self._condense))
            | RunnablePassthrough.assign(passages=RunnableLambda(self._retrieve))
            | RunnablePassthrough.assign(prompt=RunnableLambda(self._prompt))
            | RunnablePassthrough.assign(raw=RunnableLambda(self._generate))
        )

    def _prompt(self, state: dict) -> Prompt:
        if self.settings.answer_format == "structured":
            sentences = shown_sentences(state["passages"], state["standalone"], self.settings)
            messages = reading_messages(state["question"], state["history"], state["passages"], sentences)
            return Prompt(messages, sentences)
        return Prompt(self._messages(state), [])

    def _generate(self, state: dict) -> Runnable:
        """The model call for this prompt: grammar-bound for a structured answer. The chunks keep
        their metadata (token probabilities)."""
        prompt: Prompt = state["prompt"]
        if self.settings.answer_format == "structured":
            passages = state["passages"]
            texts = [sentence_text(s, passages) for s in prompt.sentences]
            model: Runnable = self.reader.model_for(texts)
        else:
            model = self.llm
        return RunnableLambda(lambda _: prompt.messages) | model

    def _condense(self, state: dict) -> str:
        if self.settings.condense_mode == "llm":
            try:
                return llm_rewrite(state["question"], state["history"], self.llm)
            except Exception as exc:  # client libraries raise their own types; say it plainly
                raise as_llm_error(exc, self.settings) from exc
        return carry_query(state["question"], state["history"])

    def _retrieve(self, state: dict) -> list[Passage]:
        return self.retriever.retrieve(state["standalone"])

    def _messages(self, state: dict) -> list[BaseMessage]:
        messages: list[BaseMessage] = [SystemMessage(load_prompt("system"))]
        # The last turns give the model the referents of "he" or "there".
        for turn in state["history"][-2:]:
            messages.append(HumanMessage(turn.user))
            if turn.assistant:
                # Without its markers: an old [2] would point into this turn's passages.
                messages.append(AIMessage(strip_markers(turn.assistant)[0]))
        passage_template = load_prompt("passage")
        wanted = content_terms(state["standalone"])
        shown = []
        # Prompt length is most of the time to first token on a CPU: show the best passages only,
        # each cut to the sentences around the question's words.
        for p in state["passages"][: self.settings.prompt_passages]:
            start, end = focus(p.text, wanted, self.settings.prompt_char_budget)
            text = neutralise(p.text[start:end])
            shown.append(passage_template.format(n=p.n, title=p.title, publication=p.publication, text=text))
        block = "\n\n".join(shown)
        messages.append(
            HumanMessage(load_prompt("answer").format(passages=block, question=state["question"]))
        )
        return messages

    # --- public API ---------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Read the prompt every question shares (instructions, worked examples) into the model's
        cache now, so the first user does not wait for it. Long-running front ends call this."""
        if self.settings.answer_format != "structured":
            return
        # One request per slot, all at once: each lands in its own slot, so every slot holds the
        # shared prefix (llama.cpp caches a prompt per slot).
        slots = self.settings.llm_parallel
        try:
            prompts = [reading_messages("", [], [], [])] * slots
            self.llm.batch(prompts, {"max_concurrency": slots}, max_tokens=1)
        except Exception as exc:  # client libraries raise their own types; say it plainly
            raise as_llm_error(exc, self.settings) from exc

    def validate(self, question: str) -> str:
        return validate_question(question, self.settings.max_question_chars)

    def stream(
        self, question: str, history: list[Turn] | None = None
    ) -> Iterator[TokenEvent | SentenceEvent | AnswerEvent]:
        """Tokens of the model's answer as they are generated (with, for free-text answers, the
        checked answer so far after each complete sentence), then the checked answer."""
        question = self.validate(question)
        history = validate_history(list(history or []))
        require_articles(self.index)
        started = time.perf_counter()
        state: dict = {"question": question, "history": history}
        retrieval_s = ttft = None
        raw_parts: list[str] = []
        metadata: list[dict] = []
        sentences: SentenceStream | None = None
        try:
            for chunk in self.chain.stream({"question": question, "history": history}):
                if "passages" in chunk:
                    retrieval_s = time.perf_counter() - started
                if "raw" in chunk:
                    message = chunk["raw"]
                    text = message.content if isinstance(message.content, str) else message.text
                    metadata.append(message.response_metadata)
                    if not text:  # the stream's closing chunk carries no token
                        continue
                    if ttft is None:
                        ttft = time.perf_counter() - started
                    raw_parts.append(text)
                    yield TokenEvent(text)
                    if self.settings.answer_format == "free":
                        sentences = sentences or self._sentence_stream(question, history, state)
                        partial = sentences.feed("".join(raw_parts))
                        if partial is not None:
                            yield SentenceEvent(partial)
                else:
                    state.update(chunk)
        except NewsQAError:  # the model's, or a setting's (a missing calibration file): as it is
            raise
        except Exception as exc:
            if retrieval_s is None:  # condensing or retrieval: not the model's failure
                raise
            # Client libraries raise their own types; say it plainly, naming the endpoint.
            raise as_llm_error(exc, self.settings) from exc
        raw = "".join(raw_parts)
        standalone, passages, prompt = state["standalone"], state["passages"], state["prompt"]
        reading = None
        if self.settings.answer_format == "structured":
            reading = self.reader.read(raw, metadata, prompt.sentences)
            try:
                reading = self.reader.check_support(prompt.messages, reading)
            except Exception as exc:  # client libraries raise their own types; say it plainly
                raise as_llm_error(exc, self.settings) from exc
        answer = self.verifier.verify(question, history, standalone, passages, raw, self.model, reading)
        if sentences is not None:
            answer = sentences.settle(answer)  # never take back a sentence already shown
        answer.timings = Timings(
            retrieval_s=round(retrieval_s or 0.0, 4),
            ttft_s=round(ttft, 4) if ttft is not None else None,
            total_s=round(time.perf_counter() - started, 4),
            tokens=len(raw_parts),
        )
        yield AnswerEvent(answer)

    def _sentence_stream(self, question: str, history: list[Turn], state: dict) -> SentenceStream:
        def check(raw: str) -> Answer:
            return self.verifier.verify(
                question, history, state["standalone"], state["passages"], raw, self.model
            )

        return SentenceStream(check)

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, AnswerEvent):
                return event.answer
        raise RuntimeError("the answer stream ended without an answer")
