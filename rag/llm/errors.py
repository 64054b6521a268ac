"""The one error type of the LLM layer, and the translation of client errors into plain words.

Callers (the chain, the UI, the CLI) catch :class:`LLMError` and show its message as is, so every
message says what went wrong and what to do about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings


class LLMError(RuntimeError):
    """The LLM cannot be built or cannot answer; the message is meant for the user."""


def _reason(exc: BaseException) -> str:
    # openai wraps the httpx error: its own message is a generic "Connection error.",
    # the cause says what really happened (refused, DNS, timeout...).
    cause = exc.__cause__ or exc.__context__
    parts = [str(exc).strip().rstrip(".") or type(exc).__name__]
    if cause is not None and str(cause).strip():
        parts.append(str(cause).strip())
    return ": ".join(parts)


def llm_error_message(exc: BaseException, settings: Settings) -> str:
    """A user-facing message for an exception raised while calling the LLM.

    Connection and timeout errors of the OpenAI client name the endpoint and the setting to
    check; other errors keep their own message.
    """
    if isinstance(exc, LLMError):
        return str(exc)
    try:
        import openai
    except ImportError:  # pragma: no cover - openai comes with langchain-openai
        openai = None  # type: ignore[assignment]
    url = settings.llm_base_url or "(no URL set)"
    if openai is not None:
        # APITimeoutError is a subclass of APIConnectionError: test it first.
        if isinstance(exc, openai.APITimeoutError):
            return (
                f"the LLM endpoint at {url} did not answer within {settings.llm_timeout_s:g} s; "
                "is it overloaded? raise RAG_LLM_TIMEOUT_S or check RAG_LLM_BASE_URL"
            )
        if isinstance(exc, openai.APIConnectionError):
            return (
                f"cannot reach the LLM endpoint at {url} ({_reason(exc)}); "
                "is the server running? check RAG_LLM_BASE_URL"
            )
        if isinstance(exc, openai.AuthenticationError):
            return f"the LLM endpoint at {url} refused the API key; check RAG_LLM_API_KEY"
        if isinstance(exc, openai.NotFoundError):
            return (
                f"the LLM endpoint at {url} does not know model {settings.llm_model_name!r} "
                f"or path ({exc}); check RAG_LLM_MODEL_NAME and RAG_LLM_BASE_URL"
            )
        if isinstance(exc, openai.APIStatusError):
            return f"the LLM endpoint at {url} answered with an error: {exc}"
    return f"the LLM failed: {type(exc).__name__}: {exc}"


def as_llm_error(exc: BaseException, settings: Settings) -> LLMError:
    """Wrap ``exc`` into an :class:`LLMError` carrying :func:`llm_error_message` (cause kept)."""
    if isinstance(exc, LLMError):
        return exc
    err = LLMError(llm_error_message(exc, settings))
    err.__cause__ = exc
    return err
