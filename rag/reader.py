"""Structured, span-grounded answers: the model quotes a phrase of a passage sentence.

The model sees the best passages (each cut to the sentences around the question's words) after
a few worked examples, and answers in two lines, ``Answer:`` (the shortest phrase that answers)
and ``Reply:`` (one sentence). A grammar (``rag.grammar``) lets the phrase only be a run of words
of one shown sentence, so where it comes from is known exactly. The grammar never lets the model
answer "none": how much it wanted to is read from its token probabilities instead (``p_none``),
and the calibrated decision (``rag.judge``) weighs it with the other evidence.

The worked examples and the system prompt come first and are the same for every question, so
llama.cpp keeps them in its prompt cache: they cost time once per process, not per question.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable

from core.settings import Settings
from index.text_analysis import sentence_spans
from rag.grammar import answer_grammar, parse_answer
from rag.injection import looks_like_instruction, neutralise
from rag.llm.factory import constrained
from rag.logprobs import TokenChoice, mass, position_after, token_choices, yes_probability
from rag.prompts import load_examples, load_prompt
from rag.retrieval import focus
from rag.text_match import content_terms, strip_markers
from rag.types import Passage, Reading, ShownSentence, Turn

# Alternatives asked for at each token: enough to see "none" when the model leans elsewhere.
TOP_LOGPROBS = 20


def squash(text: str) -> str:
    return " ".join(text.split())


def shown_sentences(passages: list[Passage], query: str, settings: Settings) -> list[ShownSentence]:
    """The sentences of the passages the model is shown: the best ``prompt_passages``, each cut
    to the ``prompt_char_budget`` characters around the query's words; instruction-like
    sentences are never offered."""
    wanted = content_terms(query)
    shown = []
    for passage in passages[: settings.prompt_passages]:
        start, end = focus(passage.text, wanted, settings.prompt_char_budget)
        for s, e in sentence_spans(passage.text, start, end):
            if not looks_like_instruction(passage.text[s:e]):
                shown.append(ShownSentence(passage_n=passage.n, start=s, end=e))
    return shown


def sentence_text(sentence: ShownSentence, passages: list[Passage]) -> str:
    passage = next(p for p in passages if p.n == sentence.passage_n)
    return passage.text[sentence.start : sentence.end]


def passages_block(passages: list[Passage], sentences: list[ShownSentence]) -> str:
    """The passages as the prompt shows them: ``[n]`` and the window the sentences come from."""
    template = load_prompt("passage")
    parts = []
    for passage in passages:
        own = [s for s in sentences if s.passage_n == passage.n]
        if not own:
            continue
        text = neutralise(passage.text[own[0].start : own[-1].end])
        parts.append(
            template.format(n=passage.n, title=passage.title, publication=passage.publication, text=text)
        )
    return "\n\n".join(parts)


def conversation_text(history: list[Turn]) -> str:
    turns = []
    for turn in history[-2:]:  # the last turns give the referents of "he" or "there"
        turns.append(f"Q: {turn.user}")
        if turn.assistant:
            turns.append(f"A: {strip_markers(turn.assistant)[0]}")
    return load_prompt("read_conversation").format(turns="\n".join(turns)) if turns else ""


def reading_messages(
    question: str, history: list[Turn], passages: list[Passage], sentences: list[ShownSentence]
) -> list[BaseMessage]:
    template = load_prompt("read_question")
    messages: list[BaseMessage] = [SystemMessage(load_prompt("read_system"))]
    for example in load_examples("read_demos"):
        messages.append(
            HumanMessage(
                template.format(passages=example.passages, conversation="", question=example.question)
            )
        )
        messages.append(AIMessage(example.answer))
    block = passages_block(passages, sentences)
    messages.append(
        HumanMessage(
            template.format(passages=block, conversation=conversation_text(history), question=question)
        )
    )
    return messages


def reading_from(text: str, choices: list[TokenChoice], sentences: list[ShownSentence]) -> Reading:
    """The :class:`Reading` of what the model wrote and the probabilities it gave."""
    fields = parse_answer(text)
    phrase = fields.get("answer", "")
    start = position_after(choices, "Answer:")
    p_none = None
    first: list[tuple[str, float]] = []
    if start is not None and start < len(choices):
        p_none = mass(choices[start], lambda t: t.strip().lower().startswith("none"))
        first = [(t, round(lp, 4)) for t, lp in choices[start].alternatives]
    phrase_tokens = []
    for choice in choices[start:] if start is not None else []:
        if "\n" in choice.token:  # the phrase ends with its line
            break
        phrase_tokens.append(choice.logprob)
    phrase_logprob = sum(phrase_tokens) / len(phrase_tokens) if phrase_tokens else None
    return Reading(
        text=text,
        phrase=phrase,
        reply=fields.get("reply", ""),
        p_none=round(p_none, 6) if p_none is not None else None,
        phrase_logprob=round(phrase_logprob, 6) if phrase_logprob is not None else None,
        first_alternatives=first,
        sentences=sentences,
    )


class StructuredReader:
    """Asks the model for a structured answer and, on the same cached prompt, whether it holds."""

    def __init__(self, llm: BaseChatModel, settings: Settings) -> None:
        self.llm = llm
        self.settings = settings

    def model_for(self, texts: list[str]) -> Runnable:
        """The LLM bound to the grammar of an answer quoting one of ``texts``."""
        return constrained(self.llm, answer_grammar(texts), TOP_LOGPROBS)

    def read(
        self, text: str, metadata: Iterable[Mapping[str, Any]], sentences: list[ShownSentence]
    ) -> Reading:
        return reading_from(text, token_choices(metadata), sentences)

    def check_support(self, messages: list[BaseMessage], reading: Reading) -> Reading:
        """Ask "do the passages say this answers the question?" after the answer: llama.cpp reuses
        the cached prompt, so only the few new tokens are read. Fills ``p_supported``."""
        if not self.settings.support_check or not reading.phrase:
            return reading
        follow = [*messages, AIMessage(reading.text), HumanMessage(load_prompt("support_check"))]
        started = time.perf_counter()
        llm = constrained(self.llm, 'root ::= "yes" | "no"\n', TOP_LOGPROBS)
        message = llm.invoke(follow, max_tokens=1)
        choices = token_choices([message.response_metadata])
        p_yes = yes_probability(choices[0]) if choices else None
        return reading.model_copy(
            update={
                "p_supported": round(p_yes, 6) if p_yes is not None else None,
                "check_s": round(time.perf_counter() - started, 4),
            }
        )
