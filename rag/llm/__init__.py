"""LLM backends behind one factory: llama.cpp in-process (default) or an OpenAI-compatible API.

``make_llm(settings)`` returns a streaming LangChain chat model; every failure a user can act on
is raised as ``LLMError`` with a message that says what to do.
"""

from rag.llm.errors import LLMError, as_llm_error, llm_error_message
from rag.llm.factory import make_llm, model_label

__all__ = ["LLMError", "as_llm_error", "llm_error_message", "make_llm", "model_label"]
