"""The LLM factory: one chat model for the settings, embedded llama.cpp or an OpenAI-style API."""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.runnables import Runnable

from core.settings import Settings
from rag.llm import gguf


def make_llm(settings: Settings) -> BaseChatModel:
    """The streaming chat model chosen by ``settings.llm_backend``.

    ``embedded`` (the default) assembles the packaged GGUF if needed and loads it, once per
    process; ``openai`` builds a client for ``settings.llm_base_url`` without contacting it.
    Raises :class:`~rag.llm.errors.LLMError` when the model cannot be had.
    """
    # Backends are imported on demand: each pulls in a heavy library the other does not need.
    if settings.llm_backend == "openai":
        from rag.llm.openai import make_openai_chat

        return make_openai_chat(settings)
    from rag.llm.embedded import make_embedded_chat

    return make_embedded_chat(settings)


def model_label(settings: Settings) -> str:
    """Which model answers, in a few words, for the UI's small print."""
    if settings.llm_backend == "openai":
        return f"{settings.llm_model_name} @ {settings.llm_base_url}"
    return f"{gguf.model_label(settings)} (embedded)"


def constrained(llm: BaseChatModel, grammar: str, top_logprobs: int) -> Runnable:
    """``llm`` bound to a GBNF ``grammar`` and asked for token probabilities.

    llama.cpp takes the grammar directly (embedded) or as the request's ``grammar`` field (its
    server, and vLLM/others that accept it); an endpoint that ignores the field answers
    unconstrained, which the checks downstream treat like any unverified answer. Other chat
    models (test fakes) are returned as they are.
    """
    from rag.llm.embedded import ChatXLlamaCpp
    from rag.llm.openai import EndpointChatOpenAI

    if isinstance(llm, ChatXLlamaCpp):
        return llm.bind(grammar=grammar, logprobs=True, top_logprobs=top_logprobs)
    if isinstance(llm, EndpointChatOpenAI):
        return llm.bind(logprobs=True, top_logprobs=top_logprobs, extra_body={"grammar": grammar})
    return llm
