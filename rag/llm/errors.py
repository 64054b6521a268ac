"""The one error type of the LLM layer, and the translation of client errors into plain words.

Callers (the chain, the UI, the CLI) catch :class:`LLMError` and show its message as is, so every
message says what went wrong and what to do about it.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from core.errors import BackendError

if TYPE_CHECKING:
    from core.settings import Settings


log = logging.getLogger(__name__)


class LLMError(BackendError):
    """The LLM cannot be built or cannot answer; the message is meant for the user."""


def _reason(exc: BaseException) -> str:
    # openai's own message is a bare "Connection error."; the innermost cause (from httpx or the
    # socket) says what happened: connection refused, name not resolved, ...
    reason = str(exc).strip() or type(exc).__name__
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if str(cause).strip():
            reason = str(cause).strip()
        cause = cause.__cause__ or cause.__context__
    return reason


def endpoint_error_message(
    exc: BaseException, base_url: str | None, model_name: str, timeout_s: float | None = None
) -> str:
    """A user-facing message for an error of the OpenAI client talking to ``base_url``."""
    import openai  # only here: importing openai costs a second the embedded backend need not pay

    url = base_url or "(no URL set)"
    # APITimeoutError is a subclass of APIConnectionError: test it first.
    if isinstance(exc, openai.APITimeoutError):
        within = f" within {timeout_s:g} s" if timeout_s else ""
        return (
            f"the LLM endpoint at {url} did not answer{within}; is it overloaded? "
            "check RAG_LLM_BASE_URL, or raise RAG_LLM_TIMEOUT_S"
        )
    if isinstance(exc, openai.APIConnectionError):
        return (
            f"cannot reach the LLM endpoint at {url} ({_reason(exc)}); "
            "is the server running? check RAG_LLM_BASE_URL"
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return f"the LLM endpoint at {url} refused the API key ({exc}); check RAG_LLM_API_KEY"
    if isinstance(exc, openai.NotFoundError):
        return (
            f"the LLM endpoint at {url} has no such model or path ({exc}); "
            f"check RAG_LLM_MODEL_NAME (now {model_name!r}) and RAG_LLM_BASE_URL"
        )
    if isinstance(exc, openai.APIStatusError):
        return f"the LLM endpoint at {url} answered with an error: {exc}"
    return f"the LLM endpoint at {url} failed: {type(exc).__name__}: {exc}"


def _is_openai_error(exc: BaseException) -> bool:
    # An openai error can only exist once openai was imported; don't import it just to check.
    openai = sys.modules.get("openai")
    return openai is not None and isinstance(exc, openai.OpenAIError)


def llm_error_message(exc: BaseException, settings: Settings) -> str:
    """A user-facing message for any exception raised while calling the LLM.

    :class:`LLMError` keeps its message; errors of the OpenAI client name the endpoint and the
    setting to check; anything else is reported with its type.
    """
    if isinstance(exc, LLMError):
        return str(exc)
    if _is_openai_error(exc):
        return endpoint_error_message(
            exc, settings.llm_base_url, settings.llm_model_name, settings.llm_timeout_s
        )
    return f"the LLM failed: {type(exc).__name__}: {exc}"


def as_llm_error(exc: BaseException, settings: Settings) -> LLMError:
    """``exc`` as an :class:`LLMError` carrying :func:`llm_error_message` (cause kept)."""
    if isinstance(exc, LLMError):
        return exc
    if not _is_openai_error(exc):
        # Not a client error we know: maybe a bug on our side of the call. The user gets one
        # line; the server log keeps the traceback, or nobody could find where it came from.
        log.error("unexpected error while answering", exc_info=exc)
    err = LLMError(llm_error_message(exc, settings))
    err.__cause__ = exc
    return err
