"""The structured answer's grammar: a phrase can only be consecutive words of one sentence."""

from __future__ import annotations

import re

from rag.grammar import answer_grammar, gbnf_literal, parse_answer, span_rules


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), literal)


def _language(name: str, rules: list[str], max_words: int = 8) -> set[str]:
    """Every string the span rules accept (small sentences only): a tiny GBNF interpreter for
    the shapes span_rules writes (literals, rule references, ( ... )?, alternatives)."""
    table = {}
    for line in rules:
        key, _, body = line.partition(" ::= ")
        table[key] = body

    def expand(body: str) -> set[str]:
        body = body.strip()
        if " | " in body and not body.startswith("("):
            return set().union(*(expand(part) for part in body.split(" | ")))
        if body.endswith(")?") and body.startswith("("):
            inner = body[1:-2]
            return {""} | expand(inner)
        if body.endswith('"?'):
            return {"", *expand(body[:-1])}
        tokens = re.findall(r'"(?:[^"\\]|\\.)*"\??|\(.*\)\?|[\w-]+', body)
        results = {""}
        for token in tokens:
            if token.startswith("("):
                options = expand(token)
            elif token.startswith('"'):
                options = expand(token) if token.endswith("?") else {_unescape(token[1:-1])}
            else:
                options = expand(table[token])
            results = {a + b for a in results for b in options if len((a + b).split()) <= max_words}
        return results

    return expand(table[name])


def test_a_phrase_is_any_run_of_consecutive_words() -> None:
    name, rules = span_rules("s1", "Two drones circled, searching.")
    phrases = _language(name, rules)
    assert "Two drones" in phrases
    assert "drones circled" in phrases and "drones circled," in phrases
    assert "circled, searching." in phrases and "searching" in phrases
    # Not consecutive, not in the sentence, punctuation dropped inside: never.
    assert "Two circled" not in phrases
    assert "three drones" not in phrases
    assert "drones circled searching" not in phrases


def test_leading_punctuation_is_kept_inside_and_dropped_at_the_start() -> None:
    name, rules = span_rules("s1", "He said “we fled” today")
    phrases = _language(name, rules)
    assert "we fled”" in phrases and "said “we fled” today" in phrases
    assert "said we fled" not in phrases


def test_literals_are_escaped() -> None:
    assert gbnf_literal('say "hi"\\') == '"say \\"hi\\"\\\\"'


def test_answer_grammar_offers_every_sentence_and_a_reply() -> None:
    grammar = answer_grammar(["Two drones circled.", "It fell on March 23."])
    root = grammar.splitlines()[0]
    assert root.startswith('root ::= "Answer: " (s1 | s2)')
    assert '"\\nReply: " reply' in root
    assert "reply ::=" in grammar


def test_parse_answer() -> None:
    assert parse_answer("Answer: two drones\nReply: Two drones circled.") == {
        "answer": "two drones",
        "reply": "Two drones circled.",
    }
    assert parse_answer("Answer: none") == {"answer": "none"}
