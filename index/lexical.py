"""BM25 search over the chunks' SQLite FTS5 index (persistent, updated with every ingest).

Query words the index has never seen are widened to close spellings it does hold, so a question
that spells a name the way the other article does ("Baghouz" vs "Baghuz") still matches.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

from index.catalog import Catalog

_WORD = re.compile(r"\w+", re.UNICODE)
# Function words carry no evidence; FTS5 has no stop list of its own.
STOPWORDS = frozenset(
    """a about after all also an and any are as at be been before being both but by can could
    did do does doing done for from had has have having he her hers him his how i if in into is
    it its itself me more most my no nor not of on once only or other our out over own same she
    should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you
    your many much say said says tell told according article articles""".split()
)
_MIN_SIMILARITY = 0.85


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    score: float  # BM25, higher is better


class LexicalIndex:
    """Read side of the FTS5 index kept by :class:`Catalog`."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def terms(self, text: str) -> list[str]:
        """The distinct content words of ``text``, lower-cased, in order."""
        seen: dict[str, None] = {}
        for word in _WORD.findall(text.lower()):
            if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
                seen.setdefault(word, None)
        return list(seen)

    def _variants(self, term: str) -> list[str]:
        """Indexed words spelled like ``term`` when ``term`` itself is not indexed."""
        if term.isdigit() or len(term) < 5:
            return []
        # MATCH applies the index's own stemmer, so "battles" counts as known.
        known = self._catalog.query(
            "SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1", (_quote(term),)
        )
        if known:
            return []
        candidates = self._catalog.query(
            "SELECT term FROM chunks_vocab WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
            (term[0], chr(ord(term[0]) + 1), len(term) - 2, len(term) + 2),
        )
        return difflib.get_close_matches(term, [r["term"] for r in candidates], n=2, cutoff=_MIN_SIMILARITY)

    def search(self, query: str, k: int) -> list[LexicalHit]:
        terms = self.terms(query)
        if not terms:
            return []
        expanded: list[str] = []
        for term in terms:
            expanded.append(term)
            expanded += self._variants(term)
        match = " OR ".join(_quote(t) for t in expanded)
        # Rank inside FTS5 and join only the k best rows: joining every match first made BM25
        # 3-4x slower at 100k chunks (bench/README.md).
        rows = self._catalog.query(
            "SELECT c.chunk_id, f.score FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts"
            " WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?) f"
            " JOIN chunks c ON c.rowid = f.rowid ORDER BY f.score",
            (match, k),
        )
        return [LexicalHit(r["chunk_id"], -float(r["score"])) for r in rows]

    def idf(self, words: list[str]) -> dict[str, float]:
        """Inverse document frequency of each word over the indexed chunks (BM25's form, with the
        index's own stemmer): rare words weigh more when comparing a question with a passage."""
        total = self._catalog.count_chunks()
        weights = {}
        for word in dict.fromkeys(w.lower() for w in words if w.strip()):
            rows = self._catalog.query(
                "SELECT count(*) AS n FROM chunks_fts WHERE chunks_fts MATCH ?", (_quote(word),)
            )
            df = rows[0]["n"] if rows else 0
            weights[word] = math.log(1 + (total - df + 0.5) / (df + 0.5))
        return weights


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
