"""Turn a follow-up ("When did he leave?") into a question retrieval can answer.

Two methods, picked by ``settings.condense_mode`` (measured in the README):
- ``carry``: no model call; when the question looks like a follow-up, the previous turn's question
  and answer are carried into the search query, so their names and places are searched too.
- ``llm``: the model rewrites the question with the conversation (prompt ``condense``).
"""

from __future__ import annotations

import re

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from rag.prompts import load_prompt
from rag.text_match import content_terms, strip_markers
from rag.types import Turn

_FOLLOW_UP = re.compile(
    r"\b(he|him|his|she|her|hers|it|its|they|them|their|there|then|that|this|those|these|the same)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question)) or len(content_terms(question)) < 2


def carry_query(question: str, history: list[Turn]) -> str:
    if not history or not is_follow_up(question):
        return question
    last = history[-1]
    answer = strip_markers(last.assistant or "")[0]
    return " ".join(part for part in (last.user, answer, question) if part)


def topic_question(question: str, history: list[Turn]) -> str:
    """The follow-up with the previous question it refers to ("Who is X? How old is he?"): what
    the user asks about, without the previous answer's words, for checking an answer's topic."""
    if not history or not is_follow_up(question):
        return question
    return f"{history[-1].user} {question}"


def llm_rewrite(question: str, history: list[Turn], llm: BaseChatModel) -> str:
    if not history:
        return question
    lines = []
    for turn in history[-3:]:
        lines.append(f"User: {turn.user}")
        if turn.assistant:
            lines.append(f"Assistant: {strip_markers(turn.assistant)[0]}")
    prompt = load_prompt("condense").format(history="\n".join(lines), question=question)
    rewritten = str(llm.invoke([HumanMessage(prompt)], max_tokens=60).content).strip()
    rewritten = rewritten.splitlines()[0].strip().strip('"') if rewritten else ""
    # A rewrite that lost the question's own words is worse than none.
    if not rewritten or not (content_terms(question) - {"he", "she"}) & content_terms(rewritten):
        return carry_query(question, history)
    return rewritten
