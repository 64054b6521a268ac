"""Benchmarks: speed, memory and scale of ingest, retrieval, answering and the chat under load.

``python -m bench [--quick] [--only ingest,retrieval,answer,load]`` writes ``bench/results/*.json``
and regenerates the table in ``bench/README.md``.
"""

import core.offline  # noqa: F401  (before chroma, onnxruntime and gradio load)
