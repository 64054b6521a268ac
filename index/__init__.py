"""Loading, cleaning, chunking and embedding articles into Chroma and a lexical index."""

import core.offline  # noqa: F401  (before onnxruntime / chromadb are imported)
