"""The GBNF grammar of a structured answer: the model can only quote what a sentence says.

The answer has two lines::

    Answer: two US drones
    Reply: Two US drones circled above Baghuz.

``Answer`` must be a run of consecutive words of one of the sentences shown (its trailing
punctuation optional), so the phrase and the sentence it cites agree by construction: a small
model cannot turn "two drones" into "one drone". ``Reply`` is free text, checked afterwards like
any generated sentence.
"""

from __future__ import annotations

import re

_PUNCT = "\"'“”‘’()[],.;:!?"


def gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _split_word(word: str) -> tuple[str, str, str]:
    """Leading punctuation, core, trailing punctuation ("“Baghuz,”" -> "“", "Baghuz", ",”")."""
    core = word.strip(_PUNCT)
    if not core:
        return "", word, ""
    lead = word[: word.index(core)]
    return lead, core, word[len(lead) + len(core) :]


def words_of(sentence: str) -> list[str]:
    return sentence.split()


def span_rules(name: str, sentence: str) -> tuple[str, list[str]]:
    """Rules for "any run of consecutive words of ``sentence``": the rule name and its lines.

    ``{name}-w{i}`` is word i and everything that may follow it; a phrase starts at any word
    (without its leading punctuation) and may end after any word (with or without its trailing
    punctuation).
    """
    words = [_split_word(w) for w in words_of(sentence)]
    lines = []
    for i, (lead, core, trail) in enumerate(words):
        more = f'" " {name}-c{i + 1}' if i + 1 < len(words) else ""
        # Punctuation inside the phrase is kept; only at its end may it be left out.
        if trail and more:
            tail = f"({gbnf_literal(trail)} ({more})?)?"
        elif trail:
            tail = f"{gbnf_literal(trail)}?"
        elif more:
            tail = f"({more})?"
        else:
            tail = '""'
        lines.append(f"{name}-t{i} ::= {tail}")
        lines.append(f"{name}-s{i} ::= {gbnf_literal(core)} {name}-t{i}")
        lines.append(f"{name}-c{i} ::= {gbnf_literal(lead + core)} {name}-t{i}")
    starts = " | ".join(f"{name}-s{i}" for i in range(len(words))) or '""'
    lines.append(f"{name} ::= {starts}")
    return name, lines


def answer_grammar(sentences: list[str]) -> str:
    """``Answer: <words of one of sentences>`` then, optionally, ``Reply: <one line>``."""
    lines: list[str] = []
    names = []
    for i, sentence in enumerate(sentences, start=1):
        name, rules = span_rules(f"s{i}", " ".join(sentence.split()))
        names.append(name)
        lines += rules
    spans = " | ".join(names) if names else '"none"'
    head = f'root ::= "Answer: " ({spans}) ("\\nReply: " reply)?'
    return "\n".join([head, *lines, "reply ::= [^\\n]+"]) + "\n"


_LINE = re.compile(r"^(Answer|Reply):\s*(.*)$")


def parse_answer(text: str) -> dict[str, str]:
    """The fields of a structured answer, by name (missing fields are absent)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match:
            fields[match.group(1).lower()] = match.group(2).strip()
    return fields
