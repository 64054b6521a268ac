"""A synthetic news corpus made from the real articles' sentences, reproducibly.

Only two articles ship with the project; a thousand documents are made by shuffling their
cleaned sentences into new articles (a headline line, then paragraphs of one to four sentences)
with a fixed seed, so every run indexes byte-identical files. The text is real news prose, so
chunking, tokenisation, embedding and BM25 work on realistic input; the vocabulary is, of course,
only that of the two source articles.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings, load_settings
from index.articles import article_files, load_document
from index.text_analysis import sentence_spans

SOURCE_DIR = PROJECT_ROOT / "data" / "articles"
DEFAULT_SEED = 20240611
# A typical news article is 400-1,100 words; the two shipped ones are 3.2 and 17 KB.
MIN_DOC_CHARS = 2_500
MAX_DOC_CHARS = 6_500
_STAMP = ".corpus.json"


def bench_settings(data_dir: Path, cache_dir: Path | None = None, **overrides: object) -> Settings:
    """The product's settings (defaults, ``rag.toml``, ``RAG_*``) on a throw-away data folder.

    The model cache stays the user's (or ``cache_dir``), so the 500 MB GGUF is assembled once,
    not once per benchmark folder; the embedded vector store is used unless a caller says otherwise.
    """
    base = load_settings()
    values: dict[str, object] = {
        "data_dir": Path(data_dir),
        "cache_dir": cache_dir or base.models_dir,
        "chroma_host": None,
    }
    values.update(overrides)
    return load_settings(**values)


def source_sentences(folder: Path = SOURCE_DIR) -> list[str]:
    """The distinct sentences (four words or more) of the cleaned shipped articles, in order."""
    seen: dict[str, None] = {}
    for path in article_files(folder):
        doc = load_document(path, max_bytes=10_000_000)
        for start, end in sentence_spans(doc.text):
            sentence = " ".join(doc.text[start:end].split())
            if len(sentence.split()) >= 4:
                seen.setdefault(sentence, None)
    if not seen:
        raise RuntimeError(f"no sentences found in {folder}")
    return list(seen)


def sentence_mix(rng: random.Random, sentences: list[str], enough: Callable[[str], bool]) -> str:
    """Random sentences joined with spaces until ``enough(text)`` holds."""
    parts: list[str] = []
    text = ""
    while not enough(text):
        parts.append(rng.choice(sentences))
        text = " ".join(parts)
    return text


def make_article(rng: random.Random, sentences: list[str], target_chars: int) -> str:
    """A headline line, a blank line, then paragraphs of 1-4 sentences up to ``target_chars``."""
    headline = " ".join(rng.choice(sentences).rstrip(".!?\"'”’").split()[:12])
    paragraphs: list[str] = []
    size = len(headline)
    while size < target_chars:
        paragraph = " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 4)))
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return headline + "\n\n" + "\n\n".join(paragraphs) + "\n"


@dataclass(frozen=True)
class Corpus:
    folder: Path
    n_docs: int
    seed: int
    bytes: int
    source_sentences: int

    @property
    def paths(self) -> list[Path]:
        return article_files(self.folder)

    def record(self) -> dict[str, object]:
        out = asdict(self)
        out["folder"] = str(self.folder)
        out["mean_doc_bytes"] = round(self.bytes / max(self.n_docs, 1))
        return out


def make_corpus(folder: Path, n_docs: int, seed: int = DEFAULT_SEED) -> Corpus:
    """Write ``n_docs`` synthetic articles into ``folder`` (reused untouched when already there,
    so their mtimes and bytes stay the same between runs)."""
    folder = Path(folder)
    sentences = source_sentences()
    params = {"n_docs": n_docs, "seed": seed, "min": MIN_DOC_CHARS, "max": MAX_DOC_CHARS, "v": 1}
    stamp = folder / _STAMP
    if stamp.is_file() and json.loads(stamp.read_text())["params"] == params:
        files = article_files(folder)
        if len(files) == n_docs:
            total = sum(p.stat().st_size for p in files)
            return Corpus(folder, n_docs, seed, total, len(sentences))
    folder.mkdir(parents=True, exist_ok=True)
    for old in article_files(folder):
        old.unlink()
    rng = random.Random(seed)
    total = 0
    for i in range(n_docs):
        text = make_article(rng, sentences, rng.randint(MIN_DOC_CHARS, MAX_DOC_CHARS))
        path = folder / f"synthetic-{i:05d}.txt"
        path.write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
    stamp.write_text(json.dumps({"params": params}), encoding="utf-8")
    return Corpus(folder, n_docs, seed, total, len(sentences))
