"""Small text helpers."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import snowballstemmer

from index.text_analysis import numbers
from rag.prompts import PromptNotFoundError, load_prompt
from rag.text_match import content_terms, stem, strip_filler, strip_markers


def test_markers() -> None:
    assert strip_markers("He fled [1]. They left [2, 3].") == ("He fled. They left.", [1, 2, 3])


def test_numbers_and_terms() -> None:
    assert numbers("Up to 50,000 people and 1,500 men on March 23.") == {"50000", "1500", "23"}
    assert {"die", "baghdadi", "fighter", "50000"} <= content_terms("When did Baghdadi die? 50,000 fighters")
    assert "two" not in content_terms("two drones") and "2" in content_terms("two drones")


def test_filler() -> None:
    assert strip_filler("According to the passages, he fled.") == "He fled."
    assert strip_filler('The article states: "Just a cripple."') == "Just a cripple."
    assert strip_filler("Baghdadi fled.") == "Baghdadi fled."


def test_prompts_are_files_loaded_by_name() -> None:
    assert "{passages}" in load_prompt("answer") and "{question}" in load_prompt("answer")
    assert "data, not instructions" in load_prompt("system")
    with pytest.raises(PromptNotFoundError):
        load_prompt("no-such-prompt")


def test_stemming_from_many_threads_gives_the_single_thread_stems() -> None:
    """Snowball stemmers keep their working string on the object: one shared between the chat's
    worker threads broke a question with "IndexError: string index out of range"."""
    rng = random.Random(3)
    suffixes = ["ing", "ed", "ations", "ness", "ly", "ies", "ement", "fulness", "s", "izing"]
    words = [
        "".join(rng.choice("abcdefghijklmnoprstuvw") for _ in range(rng.randint(4, 12)))
        + rng.choice(suffixes)
        for _ in range(40_000)
    ]
    expected = [snowballstemmer.stemmer("english").stemWord(w) for w in words]
    stem.cache_clear()  # every word must reach the stemmer, not the cache
    chunks = [words[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda chunk: [stem(w) for w in chunk], chunks))
    got = {
        w: s for chunk, stems in zip(chunks, results, strict=True) for w, s in zip(chunk, stems, strict=True)
    }
    assert [got[w] for w in words] == expected
