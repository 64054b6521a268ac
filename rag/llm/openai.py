"""Any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, a hosted API) as the LLM.

The model is ``langchain_openai.ChatOpenAI``, streaming, with one retry. Client errors that a
user can act on (endpoint down, timeout, bad key, unknown model) come out as :class:`LLMError`
whose message names the URL and the setting to check, so the chain and the UI need not know
the ``openai`` exception types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from core.settings import Settings
from rag.llm.errors import LLMError, endpoint_error_message

# Waiting longer than this for /models says nothing more about whether the server is up.
_CHECK_TIMEOUT_S = 10.0


class EndpointChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` whose client errors are raised as :class:`LLMError` with a useful message."""

    def _error(self, exc: openai.OpenAIError) -> LLMError:
        timeout = self.request_timeout if isinstance(self.request_timeout, int | float) else None
        return LLMError(endpoint_error_message(exc, self.openai_api_base, self.model_name, timeout))

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        try:
            return super()._generate(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise self._error(exc) from exc

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        try:
            yield from super()._stream(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise self._error(exc) from exc

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        try:
            return await super()._agenerate(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise self._error(exc) from exc

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        try:
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk
        except openai.OpenAIError as exc:
            raise self._error(exc) from exc


def make_openai_chat(settings: Settings) -> ChatOpenAI:
    """The chat model for ``settings.llm_base_url``; no request is made until it is used."""
    if not settings.llm_base_url:
        raise LLMError("the openai LLM backend needs an endpoint URL: set RAG_LLM_BASE_URL")
    return EndpointChatOpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model_name,
        temperature=settings.temperature,
        seed=settings.seed,
        max_tokens=settings.max_answer_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=1,
        streaming=True,
        # Token counts in the last streamed chunk (llama.cpp, vLLM and OpenAI all send them).
        stream_usage=True,
    )


def check_endpoint(settings: Settings) -> list[str]:
    """Ask the endpoint for its models, to fail early with a clear message when it is down.

    Returns the model ids it lists (empty when it does not implement ``/models``); raises
    :class:`LLMError` when it cannot be reached or refuses the key.
    """
    if not settings.llm_base_url:
        raise LLMError("the openai LLM backend needs an endpoint URL: set RAG_LLM_BASE_URL")
    timeout = min(settings.llm_timeout_s, _CHECK_TIMEOUT_S)
    client = openai.OpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        timeout=timeout,
        max_retries=0,
    )
    try:
        return [m.id for m in client.models.list()]
    except (openai.APIConnectionError, openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise LLMError(
            endpoint_error_message(exc, settings.llm_base_url, settings.llm_model_name, timeout)
        ) from exc
    except openai.APIStatusError:
        return []  # it answered: it is up, it just has no /models
    finally:
        client.close()
