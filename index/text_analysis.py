"""The one text analyser: sentences, numbers, dates, ages and names, for chunking and checking.

Sentence boundaries come from pysbd (rule-based sentence boundary disambiguation), which knows
that "Mr.", "U.S." or "p.m." do not end a sentence; a blank line always does (captions and
headings carry no full stop). Numbers, dates and ages are the kinds of answer a question asks for
("how many", "when", "how old"); they are found here and nowhere else.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TypeVar

import pysbd  # rule-based sentence boundaries

_PARAGRAPH = re.compile(r"\n\s*\n")
T = TypeVar("T")


def per_thread(make: Callable[[], T]) -> Callable[[], T]:
    """A getter of ``make()``'s object, one per thread: for text tools that keep the text they
    work on in the object itself (pysbd's segmenter, Snowball's stemmer), which threads sharing
    one would corrupt."""
    local = threading.local()

    def get() -> T:
        made = getattr(local, "made", None)
        if made is None:
            made = local.made = make()
        return made

    return get


_segmenter = per_thread(lambda: pysbd.Segmenter(language="en", clean=False, char_span=True))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in ``text[start:end]``, whitespace trimmed."""
    end = len(text) if end is None else end
    breaks = [b for m in _PARAGRAPH.finditer(text, start, end) for b in (m.start(), m.end())]
    bounds = [start, *breaks, end]
    spans: list[tuple[int, int]] = []
    for p_start, p_end in zip(bounds[::2], bounds[1::2], strict=True):
        s, e = _trim(text, p_start, p_end)
        if e > s:
            spans += _paragraph_sentences(text, s, e)
    return spans


def _paragraph_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    piece = text[start:end]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for span in _segmenter().segment(piece):
        # Offsets are re-found from the sentence text, so they are exact whatever pysbd's own
        # spans include (trailing whitespace, a skipped character).
        body = span.sent.strip()
        found = piece.find(body, cursor) if body else -1
        if found < 0:
            continue
        if found > cursor and piece[cursor:found].strip():
            spans.append(_trim(piece, cursor, found))  # text pysbd passed over stays a sentence
        spans.append((found, found + len(body)))
        cursor = found + len(body)
    if piece[cursor:].strip():
        spans.append(_trim(piece, cursor, len(piece)))
    return [(start + a, start + b) for a, b in spans if b > a]


def sentences(text: str) -> list[str]:
    """The sentences of ``text``."""
    return [text[s:e] for s, e in sentence_spans(text)]


# --- numbers ------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d[\d,.]*\d|\d")
NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "fifteen": "15",
    "twenty": "20",
    "thirty": "30",
    "fifty": "50",
    "hundred": "100",
    "thousand": "1000",
}


def numbers(text: str) -> set[str]:
    """Numbers written with digits, thousands separators removed ("50,000" -> "50000")."""
    found = set()
    for match in _DIGITS.findall(text):
        cleaned = re.sub(r"(?<=\d)[,](?=\d{3})", "", match).rstrip(".,")
        if cleaned:
            found.add(cleaned)
    return found


# A quantity: digits, number words, and the words that stand for an amount.
_QUANTITY = re.compile(
    r"\d[\d,.]*\d|\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?"
    r"|thousands?|millions?|half|quarter|several|few|many|most|all|none|no)\b",
    re.IGNORECASE,
)
# An age is a count of years: "a few" or "many" answers "how many", never "how old".
_AGE = re.compile(
    r"\d+|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty"
    r"|fifty|sixty|seventy|eighty|ninety|hundred|teens|twenties|thirties|forties|fifties|sixties"
    r"|seventies|eighties|nineties)\b",
    re.IGNORECASE,
)

# --- dates --------------------------------------------------------------------------------

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
# A point in time: a month, a year, an ordinal day, a weekday or season. Durations ("years",
# "days") are not dates: they answer "how long", which asks for a number.
_DATE = re.compile(
    rf"\b({_MONTHS})\s+\d{{1,2}}\b|\b\d{{1,2}}\s+({_MONTHS})\b|\b({_MONTHS})\b|\b(1[89]|20)\d\d\b"
    r"|\b\d{1,2}(st|nd|rd|th)\b|\b(spring|summer|autumn|fall|winter|midwinter|yesterday|today|ago"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend)\b",
    re.IGNORECASE,
)


def quantities(text: str) -> list[str]:
    """Words of ``text`` that state an amount ("1,500", "two", "dozens", "half")."""
    return [m.group() for m in _QUANTITY.finditer(text)]


def ages(text: str) -> list[str]:
    """Words of ``text`` that can state an age (a count of years)."""
    return [m.group() for m in _AGE.finditer(text)]


def dates(text: str) -> list[str]:
    """Mentions of a point in time ("March 23", "2014", "midwinter", "Friday")."""
    return [m.group() for m in _DATE.finditer(text)]


# --- names --------------------------------------------------------------------------------

# A name is a capitalised word; at the start of a sentence, one that is not a common opener.
_CAPITALISED = re.compile(r"\b[A-Z][\w’'\-]*")
_SENTENCE_START = re.compile(r"(^\W*|[.!?][\"'”’)\]]*\s+[\"'“‘(]*)$")
_OPENERS = frozenset(
    """The A An It He She They This That These Those We I You His Her Their Its Our There Here In On
    At By For From To With As After Before When While If But And Or So Based According""".split()
)


def names(text: str, sentence_starts: bool = True) -> list[str]:
    """Capitalised words of ``text`` that may be names (a sentence's common first words are not;
    with ``sentence_starts=False``, no first word is: only surely capitalised words count)."""
    found = []
    for match in _CAPITALISED.finditer(text):
        word = match.group()
        if _SENTENCE_START.search(text[: match.start()]):
            if sentence_starts and word not in _OPENERS:
                found.append(word)
        elif len(word) > 1:
            found.append(word)
    return found
