"""Retrieval, LLM backends, the answer chain, citation checking and the `ask` CLI."""

import core.offline  # noqa: F401  (before any library it configures)
