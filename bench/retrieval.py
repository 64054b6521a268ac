"""Retrieval at scale: dense, lexical and hybrid latency at 1k / 10k / 100k chunks, embedded
Chroma and a Chroma server, with the memory each takes.

Each scale is a fresh index filled through the index's own APIs (``Catalog.write_document`` and
``ChunkVectors.upsert``): first with really embedded chunks of the synthetic corpus (as many whole
documents as fit), then topped up to the exact size with synthetic rows: sentence-mix text (so
BM25 sees realistic postings) and random unit vectors (embedding 100k texts would take an hour
here). Queries are the questions of the evaluation test split, asked through the product's
``ArticleIndex.dense_search`` / ``lexical_search`` and ``HybridRetriever.retrieve``.

Each (scale, store) is measured in a fresh child process, so its RSS is that of a process serving
retrieval at that scale, not the sum of everything the benchmark built before.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import bench_settings, sentence_mix, source_sentences
from bench.ingest import ensure_corpus_index
from bench.measure import mb, peak_rss_bytes, rss_bytes, summarize, timer
from core.settings import PROJECT_ROOT, Settings
from eval.dataset import load_dataset
from index.catalog import Catalog
from index.documents import Chunk, Document
from index.embedding import DIMENSIONS
from index.store import ArticleIndex, open_index
from index.tokens import get_encoding
from index.vector_store import make_chroma_client, make_vector_store
from rag.retrieval import HybridRetriever

QUERIES_FILE = PROJECT_ROOT / "eval" / "datasets" / "test.jsonl"
SYNTHETIC_CHUNKS_PER_DOC = 10
WARMUP_QUERIES = 10
KINDS = ("embed_query", "dense", "lexical", "hybrid")


@dataclass
class RetrievalConfig:
    work: Path
    scales: tuple[int, ...] = (1_000, 10_000, 100_000)
    stores: tuple[str, ...] = ("embedded", "server")
    source_docs: int = 1000  # the synthetic corpus whose real embeddings fill the first chunks
    repeats: int = 2  # passes over the queries
    max_queries: int | None = None
    isolate: bool = True  # measure each (scale, store) in a child process (clean RSS)
    keep: bool = False  # keep each scale's index on disk afterwards (100k is ~1 GB)
    # Also measure, where most rows are synthetic, a copy whose synthetic text is respelled into
    # this many "topics" (see respelled_copy); 0 turns it off.
    respelled_topics: int = 50
    cache_dir: Path | None = None
    seed: int = 7

    @classmethod
    def preset(cls, size: str, work: Path, cache_dir: Path | None = None) -> RetrievalConfig:
        sizes: dict[str, dict[str, Any]] = {
            "full": {},
            "quick": {"scales": (1_000, 10_000), "source_docs": 200, "repeats": 1},
            "tiny": {
                "scales": (30, 60),
                "source_docs": 2,
                "repeats": 1,
                "max_queries": 4,
                "isolate": False,
            },
        }
        return cls(work=Path(work), cache_dir=cache_dir, **sizes[size])

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["work"] = str(self.work)
        out["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        return out


@dataclass
class Scale:
    chunks: int
    real_chunks: int
    synthetic_chunks: int
    documents: int
    build_s: dict[str, float] = field(default_factory=dict)


def queries(limit: int | None = None) -> list[str]:
    items = load_dataset(QUERIES_FILE)
    return [item.question for item in items][:limit]


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random directions on the unit sphere: a hard case for HNSW (no clusters to exploit)."""
    vectors = rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def synthetic_documents(
    n_chunks: int, first: int, seed: int, chunk_chars: int, encoding: Any
) -> Iterator[tuple[Document, list[Chunk]]]:
    """Documents of ``SYNTHETIC_CHUNKS_PER_DOC`` sentence-mix chunks; chunk text is exactly
    ``doc.text[start:end]``, as for real chunks."""
    rng = random.Random(seed)
    sentences = source_sentences()
    made = 0
    number = first
    while made < n_chunks:
        doc_id = f"synthetic-row-{number:06d}"
        count = min(SYNTHETIC_CHUNKS_PER_DOC, n_chunks - made)
        texts = [sentence_mix(rng, sentences, lambda t: len(t) >= chunk_chars) for _ in range(count)]
        text = "\n\n".join(texts)
        doc = Document(doc_id, f"Synthetic {number}", "synthetic", "", text, f"synthetic-{number}")
        chunks, start = [], 0
        for position, chunk_text in enumerate(texts):
            end = start + len(chunk_text)
            n_tokens = len(encoding.encode(chunk_text, disallowed_special=()))
            chunks.append(
                Chunk(f"{doc_id}:0:{position}", doc_id, position, start, end, chunk_text, n_tokens=n_tokens)
            )
            start = end + 2
        yield doc, chunks
        made += count
        number += 1


def build_scale(
    source: ArticleIndex, source_settings: Settings, target: int, stores: dict[str, Settings], seed: int
) -> Scale:
    """Fill a fresh catalog (shared by every store) and one collection per store up to ``target``."""
    any_settings = next(iter(stores.values()))
    catalog = Catalog(any_settings.index_dir / "catalog.sqlite3")
    vector_stores = {name: make_vector_store(s, s.embedding_model) for name, s in stores.items()}
    source_vectors = make_chroma_client(source_settings).get_collection(source_settings.chroma_collection)
    build = {"catalog_s": 0.0, **{f"{name}_vectors_s": 0.0 for name in stores}}

    def write(batch: list[tuple[Document, list[Chunk]]], vectors: np.ndarray) -> None:
        ids = [c.chunk_id for _, chunks in batch for c in chunks]
        doc_ids = [c.doc_id for _, chunks in batch for c in chunks]
        for name, store in vector_stores.items():
            with timer() as elapsed:
                store.upsert(ids, doc_ids, vectors)
            build[f"{name}_vectors_s"] += elapsed()
        with timer() as elapsed, catalog.transaction() as conn:
            for doc, chunks in batch:
                Catalog.write_document(conn, doc, chunks)
        build["catalog_s"] += elapsed()

    # Real, embedded chunks: whole documents of the synthetic corpus while they fit.
    real, documents = 0, 0
    batch: list[tuple[Document, list[Chunk]]] = []
    for info in source.documents():
        if real + info.n_chunks > target:
            break
        doc = source.document(info.doc_id)
        assert doc is not None
        batch.append((doc, source.document_chunks(info.doc_id)))
        real += info.n_chunks
        documents += 1
        if sum(len(c) for _, c in batch) >= 2000 or real == target:
            write(batch, _source_vectors(source_vectors, batch))
            batch = []
    if batch:
        write(batch, _source_vectors(source_vectors, batch))
        batch = []
    # Synthetic rows up to the exact size.
    synthetic = target - real
    if synthetic:
        rows = source.catalog.query("SELECT avg(length(text)) AS n FROM chunks")
        chunk_chars = int(rows[0]["n"] or 450)
        rng = np.random.default_rng(seed)
        encoding = get_encoding(source_settings.tiktoken_encoding, source_settings.models_dir)
        for doc, chunks in synthetic_documents(synthetic, documents, seed, chunk_chars, encoding):
            batch.append((doc, chunks))
            documents += 1
            if sum(len(c) for _, c in batch) >= 5000:
                write(batch, unit_vectors(rng, sum(len(c) for _, c in batch)))
                batch = []
        if batch:
            write(batch, unit_vectors(rng, sum(len(c) for _, c in batch)))
    catalog.close()
    return Scale(target, real, synthetic, documents, {k: round(v, 2) for k, v in build.items()})


def _source_vectors(collection: Any, batch: list[tuple[Document, list[Chunk]]]) -> np.ndarray:
    ids = [c.chunk_id for _, chunks in batch for c in chunks]
    got = collection.get(ids=ids, include=["embeddings"])
    by_id = dict(zip(got["ids"], got["embeddings"], strict=True))
    return np.asarray([by_id[i] for i in ids], dtype=np.float32)


def lexical_match(index: ArticleIndex, query: str, variants: bool) -> str:
    """The FTS5 MATCH expression ``LexicalIndex.search`` builds for ``query``."""
    from index.lexical import _quote

    expanded: list[str] = []
    for term in index.lexical.terms(query):
        expanded.append(term)
        if variants:
            expanded += index.lexical._variants(term)
    return " OR ".join(_quote(t) for t in expanded)


_WORD = re.compile(r"[A-Za-z]{4,}")


def respelled_copy(data_dir: Path, topics: int) -> Path:
    """A copy of ``data_dir``'s catalog (sharing its vectors) in which the synthetic rows of all
    but one in ``topics`` synthetic documents have every word respelled with a per-topic suffix.

    Sentence-mix rows are all about the shipped story, so a question's BM25 terms match about half
    of a 100k index, which no real news collection does. Respelled, the story's own words occur
    only in the real chunks and in one synthetic document in ``topics``, while the text keeps its
    shape (lengths, word frequencies, BM25 work per row). Only the lexical side differs: the
    vectors are the same collection.
    """
    copy = data_dir.with_name(data_dir.name + "-respelled")
    shutil.rmtree(copy, ignore_errors=True)
    (copy / "index").mkdir(parents=True)
    source = data_dir / "index" / "catalog.sqlite3"
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the main file alone is then the database
    shutil.copy2(source, copy / "index" / "catalog.sqlite3")
    if (data_dir / "index" / "chroma").exists():
        (copy / "index" / "chroma").symlink_to((data_dir / "index" / "chroma").resolve())
    catalog = Catalog(copy / "index" / "catalog.sqlite3")
    rows = catalog.query("SELECT rowid, doc_id, text FROM chunks WHERE doc_id LIKE 'synthetic-row-%'")
    with catalog.transaction() as conn:
        for row in rows:
            topic = int(row["doc_id"].rsplit("-", 1)[1]) % topics
            if topic:
                suffix = "q" + chr(97 + topic % 26) + chr(97 + topic // 26 % 26)
                text = _WORD.sub(lambda m, sfx=suffix: m.group(0) + sfx, row["text"])
                conn.execute("UPDATE chunks SET text = ? WHERE rowid = ?", (text, row["rowid"]))
        # The FTS5 triggers cover insert and delete only: rebuild it from the updated rows.
        conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('rebuild')")
    catalog.close()
    return copy


def measure(settings: Settings, questions: list[str], repeats: int) -> dict[str, Any]:
    """Latency of each retrieval kind over ``questions`` x ``repeats`` (after one warm-up pass),
    and this process's memory. The kinds are interleaved per question so a burst of load from
    elsewhere hits all of them alike."""
    with timer() as opened:
        index = open_index(settings)
        retriever = HybridRetriever(index, settings)
    depth = max(settings.candidate_k, settings.top_k)
    calls = {
        "embed_query": lambda q: index.embedder.embed_query(q),
        "dense": lambda q: index.dense_search(q, depth),
        "lexical": lambda q: index.lexical_search(q, depth),
        "hybrid": lambda q: retriever.retrieve(q),
    }
    for q in questions[:WARMUP_QUERIES]:  # warm-up: loads the HNSW segment and SQLite pages
        for call in calls.values():
            call(q)
    # How many chunks a question's BM25 query matches: what lexical latency grows with.
    matches = [
        index.catalog.query("SELECT count(*) AS n FROM chunks_fts WHERE chunks_fts MATCH ?", (m,))[0]["n"]
        for m in (lexical_match(index, q, variants=True) for q in questions)
        if m
    ]
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(max(repeats, 1)):
        for q in questions:
            for kind, call in calls.items():
                start = time.perf_counter()
                call(q)
                samples[kind].append(time.perf_counter() - start)
    return {
        "chunks": index.catalog.count_chunks(),
        "vectors": index.vectors.count(),
        "open_s": round(opened(), 3),
        "latency_ms": {kind: _ms(summarize(values, 6)) for kind, values in samples.items()},
        "lexical_matches": summarize([float(m) for m in matches], 0),
        "rss_mb": mb(rss_bytes()),
        "peak_rss_mb": mb(peak_rss_bytes()),
    }


def _ms(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v * 1000, 2) if isinstance(v, float) and k != "n" else v) for k, v in stats.items()}


def measure_isolated(settings: Settings, questions: list[str], repeats: int) -> dict[str, Any]:
    """:func:`measure` in a fresh ``python -m bench.retrieval --measure`` process."""
    args = {
        "settings": json.loads(settings.model_dump_json()),
        "questions": questions,
        "repeats": repeats,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bench.retrieval", "--measure", json.dumps(args)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"retrieval measurement failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextmanager
def chroma_server(path: Path) -> Iterator[tuple[int, int]]:
    """``chroma run`` on a free 127.0.0.1 port; yields (port, pid) so its memory can be read."""
    from tests.servers import free_port, running

    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    cmd = [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with running(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", path.parent / "chroma.log") as proc:
        yield port, proc.pid


def run(cfg: RetrievalConfig) -> dict[str, Any]:
    source = ensure_corpus_index(cfg.work, cfg.source_docs, cfg.cache_dir)
    source_index = open_index(source.settings)
    questions = queries(cfg.max_queries)
    results: list[dict[str, Any]] = []
    for scale in cfg.scales:
        data_dir = cfg.work / f"retrieval-{scale}"
        shutil.rmtree(data_dir, ignore_errors=True)
        collection = f"bench-{scale}"
        with _maybe_server("server" in cfg.stores, data_dir / "chroma-server") as server:
            stores: dict[str, Settings] = {}
            if "embedded" in cfg.stores:
                stores["embedded"] = bench_settings(data_dir, cfg.cache_dir, chroma_collection=collection)
            if server is not None:
                stores["server"] = bench_settings(
                    data_dir,
                    cfg.cache_dir,
                    chroma_host="127.0.0.1",
                    chroma_port=server[0],
                    chroma_collection=collection,
                )
            built = build_scale(source_index, source.settings, scale, stores, cfg.seed + scale)
            variants = [("sentence-mix", stores)]
            if cfg.respelled_topics and built.synthetic_chunks * 2 >= scale:
                copy = respelled_copy(data_dir, cfg.respelled_topics)
                variants.append(
                    ("respelled", {n: s.model_copy(update={"data_dir": copy}) for n, s in stores.items()})
                )
            for text, name, settings in ((t, n, s) for t, group in variants for n, s in group.items()):
                measured = (
                    measure_isolated(settings, questions, cfg.repeats)
                    if cfg.isolate
                    else measure(settings, questions, cfg.repeats)
                )
                row = {
                    "scale": scale,
                    "store": name,
                    "synthetic_text": text if built.synthetic_chunks else "none",
                    "real_chunks": built.real_chunks,
                    "synthetic_chunks": built.synthetic_chunks,
                    "documents": built.documents,
                    "build_s": built.build_s,
                    **measured,
                }
                if name == "server" and server is not None:
                    row["server_rss_mb"] = mb(rss_bytes(server[1]))
                    row["server_peak_rss_mb"] = mb(peak_rss_bytes(server[1]))
                results.append(row)
                print(_line(row), file=sys.stderr, flush=True)
        if not cfg.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            shutil.rmtree(data_dir.with_name(data_dir.name + "-respelled"), ignore_errors=True)
    return {
        "queries": {"file": str(QUERIES_FILE.relative_to(PROJECT_ROOT)), "n": len(questions)},
        "source": {"documents": source.corpus.n_docs, "real_chunks_available": source.chunks},
        "synthetic": (
            "Above the really embedded chunks of the synthetic corpus, rows are synthetic: sentence-mix "
            "text from the shipped articles and random unit vectors, inserted with Catalog.write_document "
            "and ChunkVectors.upsert. Where most rows are synthetic, the index is measured a second time "
            f"with the synthetic text respelled into {cfg.respelled_topics} topics (one keeps the story's "
            "words), so a question's terms are about as rare as in a real news collection; same vectors."
        ),
        "rows": results,
    }


@contextmanager
def _maybe_server(wanted: bool, path: Path) -> Iterator[tuple[int, int] | None]:
    if not wanted:
        yield None
        return
    with chroma_server(path) as server:
        yield server


def _line(row: dict[str, Any]) -> str:
    lat = row["latency_ms"]
    return (
        f"retrieval {row['scale']:>7,} chunks {row['store']:>8} {row['synthetic_text']:>12}: "
        f"hybrid p50 {lat['hybrid']['p50']} ms, "
        f"dense p50 {lat['dense']['p50']} ms, lexical p50 {lat['lexical']['p50']} ms, rss {row['rss_mb']} MB"
    )


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for row in result["rows"]:
        if row["scale"] != 100_000:
            continue
        text = "worst-case sentence-mix text" if row["synthetic_text"] == "sentence-mix" else "respelled text"
        p50 = row["latency_ms"]["hybrid"]["p50"]
        out.append(
            {
                "name": f"hybrid retrieval p50 at 100k chunks, {row['store']} Chroma, {text}",
                "target": "< 50 ms",
                "value": p50,
                "unit": "ms",
                "met": p50 < 50,
            }
        )
    return out


def _main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval")
    parser.add_argument("--measure", required=True, help="JSON: settings, questions, repeats")
    args = parser.parse_args()
    spec = json.loads(args.measure)
    settings = Settings(**spec["settings"])
    print(json.dumps(measure(settings, spec["questions"], spec["repeats"])))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
