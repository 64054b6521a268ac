"""Ingest: embedding throughput, whole-pipeline throughput, index size, unchanged re-ingest.

Everything goes through the product's own objects (``open_index``, ``Ingestor``, the packaged
MiniLM embedder), on the synthetic corpus of :mod:`bench.corpus`. The index built here is kept
(with a stamp) for the retrieval benchmark, which needs about 10,000 really embedded chunks.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from bench.corpus import Corpus, bench_settings, make_corpus, sentence_mix, source_sentences
from bench.measure import (
    MB,
    dir_bytes,
    mb,
    median,
    peak_rss_bytes,
    repeat,
    reset_peak_rss,
    summarize,
    timer,
)
from core.settings import PROJECT_ROOT, Settings
from index.embedding import make_embedder
from index.ingest import Ingestor
from index.store import ArticleIndex, open_index
from index.tokens import get_encoding

INDEX_STAMP = "bench-index.json"


@dataclass
class IngestConfig:
    work: Path
    n_docs: int = 1000
    embed_texts: int = 96  # texts per embedding-throughput repeat
    embed_tokens: int = 200  # tiktoken tokens per text ("~200-token chunks")
    embed_repeats: int = 3
    reingest_repeats: int = 3
    cli_reingest: bool = True  # also time `python -m index build` end to end, once
    cache_dir: Path | None = None
    seed: int = 20240611

    @classmethod
    def preset(cls, size: str, work: Path, cache_dir: Path | None = None) -> IngestConfig:
        sizes: dict[str, dict[str, Any]] = {
            "full": {},
            "quick": {"n_docs": 200, "embed_texts": 48, "embed_repeats": 3, "reingest_repeats": 3},
            "tiny": {
                "n_docs": 4,
                "embed_texts": 4,
                "embed_repeats": 2,
                "reingest_repeats": 2,
                "cli_reingest": False,
            },
        }
        return cls(work=Path(work), cache_dir=cache_dir, **sizes[size])

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["work"] = str(self.work)
        out["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        return out


class CountingEmbedder(Embeddings):
    """Delegates to the real embedder and counts texts and seconds, to split ingest time and to
    prove that an unchanged re-ingest embeds nothing."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.texts = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        start = time.perf_counter()
        out = self.inner.embed_documents(texts)
        with self._lock:
            self.texts += len(texts)
            self.seconds += time.perf_counter() - start
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@dataclass
class BuiltIndex:
    settings: Settings
    corpus: Corpus
    chunks: int
    info: dict[str, Any] = field(default_factory=dict)


def corpus_index_dir(work: Path) -> Path:
    return Path(work) / "ingest-data"


def _stamp(settings: Settings, corpus: Corpus, index: ArticleIndex) -> dict[str, Any]:
    return {"corpus": {"n_docs": corpus.n_docs, "seed": corpus.seed}, "fingerprint": index.fingerprint}


def ensure_corpus_index(
    work: Path, n_docs: int, cache_dir: Path | None = None, seed: int = 20240611
) -> BuiltIndex:
    """The synthetic corpus's index, as the ingest benchmark left it, or built now (untimed)."""
    corpus = make_corpus(Path(work) / "corpus", n_docs, seed)
    data_dir = corpus_index_dir(work)
    settings = bench_settings(data_dir, cache_dir)
    stamp_path = data_dir / INDEX_STAMP
    index = open_index(settings)
    wanted = _stamp(settings, corpus, index)
    if stamp_path.is_file() and json.loads(stamp_path.read_text()) == wanted:
        return BuiltIndex(settings, corpus, index.catalog.count_chunks())
    results = Ingestor(index, show_progress=False).sync_folder(corpus.folder)
    bad = [r.message for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"synthetic corpus failed to index: {bad[:3]}")
    stamp_path.write_text(json.dumps(wanted), encoding="utf-8")
    return BuiltIndex(settings, corpus, index.catalog.count_chunks())


def embedding_throughput(cfg: IngestConfig, settings: Settings) -> dict[str, Any]:
    """Chunks per second of the product's embedder on ~``embed_tokens``-token texts."""
    encoding = get_encoding(settings.tiktoken_encoding, settings.models_dir)
    sentences = source_sentences()
    rng = random.Random(cfg.seed)

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    texts = [
        sentence_mix(rng, sentences, lambda t: count(t) >= cfg.embed_tokens) for _ in range(cfg.embed_texts)
    ]
    embedder = make_embedder(settings)
    embedder.embed_documents(texts[: settings.embed_batch_size])  # warm-up: first run allocates
    cpu_start = time.process_time()
    seconds = repeat(lambda: embedder.embed_documents(texts), cfg.embed_repeats)
    cpu_s = time.process_time() - cpu_start
    rates = [len(texts) / s for s in seconds]
    # CPU seconds used (all threads) tell how much of the machine we actually got: on a busy
    # machine wall-clock throughput drops while chunks per CPU-second stays put.
    per_cpu_s = len(texts) * len(seconds) / cpu_s if cpu_s > 0 else None
    return {
        "texts": len(texts),
        "mean_tokens": round(sum(map(count, texts)) / len(texts), 1),
        "batch_size": settings.embed_batch_size,
        "max_wordpieces": settings.embed_max_tokens,
        "repeats": len(rates),
        "chunks_per_s_runs": [round(r, 2) for r in rates],
        "chunks_per_s": round(median(rates) or 0.0, 2),
        "cpu_share": round(cpu_s / sum(seconds), 2),
        "chunks_per_cpu_s": round(per_cpu_s, 2) if per_cpu_s else None,
    }


def whole_pipeline(
    cfg: IngestConfig, corpus: Corpus
) -> tuple[dict[str, Any], ArticleIndex, CountingEmbedder]:
    """One fresh build of the corpus through ``Ingestor.sync_folder``: documents/s, MB/s."""
    data_dir = corpus_index_dir(cfg.work)
    shutil.rmtree(data_dir, ignore_errors=True)
    settings = bench_settings(data_dir, cfg.cache_dir)
    embedder = CountingEmbedder(make_embedder(settings))
    reset_peak_rss()
    with timer() as opened:
        index = open_index(settings, embedder=embedder)
    with timer() as elapsed:
        results = Ingestor(index, show_progress=False).sync_folder(corpus.folder)
    seconds = elapsed()
    bad = [r.message for r in results if r.status != "added"]
    if bad:
        raise RuntimeError(f"fresh ingest did not add every file: {bad[:3]}")
    chunks = index.catalog.count_chunks()
    (data_dir / INDEX_STAMP).write_text(json.dumps(_stamp(settings, corpus, index)), encoding="utf-8")
    return (
        {
            "documents": len(results),
            "chunks": chunks,
            "corpus_mb": mb(corpus.bytes, 2),
            "open_index_s": round(opened(), 3),
            "seconds": round(seconds, 2),
            "docs_per_s": round(len(results) / seconds, 2),
            "mb_per_s": round(corpus.bytes / MB / seconds, 4),
            "chunks_per_s": round(chunks / seconds, 2),
            "embedding_s": round(embedder.seconds, 2),
            "embedding_share": round(embedder.seconds / seconds, 3),
            "pipeline_chunks_per_s_embedding_only": round(chunks / embedder.seconds, 2)
            if embedder.seconds
            else None,
            "peak_rss_mb": mb(peak_rss_bytes()),
            "runs": 1,
        },
        index,
        embedder,
    )


def index_size(index: ArticleIndex) -> dict[str, Any]:
    stats = index.stats()
    index_dir = index.settings.index_dir
    chroma = dir_bytes(index_dir / "chroma") if (index_dir / "chroma").exists() else 0
    per = 1000 / max(stats.chunks, 1)
    return {
        "chunks": stats.chunks,
        "vectors": stats.vectors,
        "mean_chunk_tokens": stats.mean_chunk_tokens,
        "disk_mb": mb(stats.disk_bytes, 2),
        "mb_per_1000_chunks": mb(stats.disk_bytes * per, 2),
        "chroma_mb_per_1000_chunks": mb(chroma * per, 2),
        "sqlite_mb_per_1000_chunks": mb((stats.disk_bytes - chroma) * per, 2),
        "consistent": stats.consistent,
    }


def reingest_unchanged(
    cfg: IngestConfig, index: ArticleIndex, embedder: CountingEmbedder, corpus: Corpus
) -> dict[str, Any]:
    """Sync the same folder again: every file must be ``unchanged``, nothing embedded or written."""
    texts_before, vectors_before = embedder.texts, index.vectors.count()
    statuses: set[str] = set()

    def once() -> None:
        results = Ingestor(index, show_progress=False).sync_folder(corpus.folder)
        statuses.update(r.status for r in results)

    seconds = repeat(once, cfg.reingest_repeats)
    # What `python -m index build` does in a fresh process, minus the interpreter: open, then sync.
    with timer() as reopen:
        fresh = open_index(index.settings, embedder=embedder)
        once()
    out: dict[str, Any] = {
        "documents": corpus.n_docs,
        "seconds_runs": [round(s, 3) for s in seconds],
        "seconds": round(median(seconds) or 0.0, 3),
        "reopen_and_sync_s": round(reopen(), 3),
        "statuses": sorted(statuses),
        "texts_embedded": embedder.texts - texts_before,
        "vectors_changed": fresh.vectors.count() - vectors_before,
    }
    if cfg.cli_reingest:
        out["cli_build_s"] = round(_cli_build(index.settings, corpus), 2)
    return out


def _cli_build(settings: Settings, corpus: Corpus) -> float:
    """``python -m index build`` over the unchanged corpus, end to end (imports included)."""
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_CACHE_DIR": str(settings.models_dir),
        "RAG_ARTICLES_DIR": str(corpus.folder),
    }
    env.pop("RAG_CHROMA_HOST", None)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "index", "build"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"`python -m index build` failed: {proc.stderr[-2000:]}")
    return time.perf_counter() - start


def run(cfg: IngestConfig) -> dict[str, Any]:
    corpus = make_corpus(cfg.work / "corpus", cfg.n_docs, cfg.seed)
    settings = bench_settings(cfg.work / "embed-data", cfg.cache_dir)
    embedding = embedding_throughput(cfg, settings)
    pipeline, index, embedder = whole_pipeline(cfg, corpus)
    size = index_size(index)
    reingest = reingest_unchanged(cfg, index, embedder, corpus)
    per_doc = [p.stat().st_size for p in corpus.paths]
    return {
        "corpus": {**corpus.record(), "doc_bytes": summarize([float(b) for b in per_doc], 0)},
        "settings": {
            "chunk_size_tokens": settings.chunk_size_tokens,
            "chunk_overlap_tokens": settings.chunk_overlap_tokens,
            "embed_batch_size": settings.embed_batch_size,
            "embedding_model": settings.embedding_model,
        },
        "embedding": embedding,
        "pipeline": pipeline,
        "index_size": size,
        "reingest_unchanged": reingest,
    }


def targets(result: dict[str, Any], n_docs: int) -> list[dict[str, Any]]:
    reingest = result["reingest_unchanged"]
    return [
        {
            "name": "embedding throughput, ~200-token chunks",
            "target": ">= 25 chunks/s",
            "value": result["embedding"]["chunks_per_s"],
            "unit": "chunks/s",
            "met": result["embedding"]["chunks_per_s"] >= 25,
        },
        {
            "name": f"re-ingest of an unchanged {n_docs:,}-document corpus",
            "target": "< 5 s" + ("" if n_docs == 1000 else " (for 1,000 documents)"),
            "value": reingest["seconds"],
            "unit": "s",
            "met": reingest["seconds"] < 5 and reingest["texts_embedded"] == 0,
        },
    ]
