"""Retrieval, LLM backends, the answer chain, citation checking and the `ask` CLI."""
