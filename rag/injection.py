"""Passages are data, not instructions: sentences that address the model are withheld from it.

The index keeps the article as written; only the copy placed in the prompt is filtered, and the
filter is a plain pattern list so it is easy to audit and extend.
"""

from __future__ import annotations

import re

from index.text_analysis import sentence_spans

_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|directions|above|previous)\b"
    r"|\b(you are now|act as|pretend to be|from now on,? you)\b"
    r"|\b(system prompt|developer mode|jailbreak)\b"
    r"|\b(respond|reply|answer|say)\b.{0,30}\b(only|always|exactly)\b.{0,30}\b(with|that)\b"
    r"|\b(assistant|AI|language model|chatbot)\b.{0,30}\b(must|should|will)\b",
    re.IGNORECASE | re.DOTALL,
)
WITHHELD = "[text withheld: it addressed the assistant]"


def looks_like_instruction(sentence: str) -> bool:
    return bool(_INSTRUCTION.search(sentence))


def neutralise(text: str) -> str:
    """``text`` with every instruction-like sentence replaced by a placeholder."""
    out, cursor = [], 0
    for start, end in sentence_spans(text):
        if looks_like_instruction(text[start:end]):
            out.append(text[cursor:start] + WITHHELD)
            cursor = end
    out.append(text[cursor:])
    return "".join(out)
