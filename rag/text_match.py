"""Small text comparisons shared by citation checking, refusal and the extractive fallback."""

from __future__ import annotations

import functools
import re

import snowballstemmer

from index.lexical import STOPWORDS
from index.text_analysis import NUMBER_WORDS, per_thread

_WORD = re.compile(r"[\w’']+", re.UNICODE)
_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# A Snowball stemmer keeps the word it works on in the object: the chat's worker threads sharing
# one corrupted each other's words (IndexError).
_stemmer = per_thread(lambda: snowballstemmer.stemmer("english"))


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball (Porter 2) stem of a lower-cased word, possessive removed: "died" -> "die"."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return _stemmer().stemWord(word.strip("'"))


def content_terms(text: str) -> set[str]:
    """Stemmed content words and numbers of ``text`` (stop words dropped)."""
    terms = set()
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    for word in _WORD.findall(text):
        lowered = word.lower()
        if lowered in STOPWORDS or (len(lowered) < 2 and not lowered.isdigit()):
            continue
        terms.add(NUMBER_WORDS.get(lowered, stem(lowered)))
    return terms


def coverage(claim: set[str], source: set[str]) -> float:
    """Share of the claim's terms found in the source (1.0 for an empty claim is avoided)."""
    if not claim:
        return 0.0
    return len(claim & source) / len(claim)


def strip_markers(text: str) -> tuple[str, list[int]]:
    """Remove [n] / [n, m] markers; return the clean text and the numbers in order."""
    found: list[int] = []
    for match in _MARKER.finditer(text):
        found += [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
    clean = _MARKER.sub("", text)
    clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
    return " ".join(clean.split()), found


def leading_markers(text: str) -> tuple[list[int], str]:
    """Markers at the very start of ``text`` (they belong to the previous sentence)."""
    found: list[int] = []
    rest = text
    while True:
        match = _MARKER.match(rest)
        if not match:
            return found, rest.lstrip()
        found += [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
        rest = rest[match.end() :]


# Openers a small model puts before the fact; they carry no claim and are dropped.
_FILLER = re.compile(
    r"^\s*((according to|based on|as (stated|mentioned|described) in) (the )?"
    r"(passages?|articles?|text|sources?)( \[\d+\])?,?\s*"
    r"|(the )?(passages?|articles?|text) (states?|says?|mentions?|reports?)( that)?:?\s*)",
    re.IGNORECASE,
)


def strip_filler(sentence: str) -> str:
    """``sentence`` without an opening "According to the passage," and the like."""
    stripped = _FILLER.sub("", sentence, count=1).strip()
    if stripped.startswith(('"', "“")) and stripped.endswith(('"', "”")):
        stripped = stripped[1:-1].strip()
    return stripped[:1].upper() + stripped[1:] if stripped else sentence


def word_keys(text: str) -> set[str]:
    """Stems of every word and number of ``text`` (thousands separators removed, no stop list)."""
    return {stem(w) for w in _WORD.findall(re.sub(r"(?<=\d),(?=\d{3})", "", text))}
