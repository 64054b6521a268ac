"""The embedded LLM: llama.cpp in-process through ``xllamacpp``, as a LangChain chat model.

``xllamacpp.Server`` is llama.cpp's own server, driven by direct calls: it takes an OpenAI-style
chat request and returns an OpenAI-style response, or calls back once per streamed chunk. One
model is loaded once per process and shared by every :class:`ChatXLlamaCpp` that names it. It has
``n_parallel`` slots, each with its own context of ``n_ctx`` tokens, and decodes the sequences of
busy slots together (continuous batching); a first-come, first-served gate
(:class:`~rag.llm.slots.SlotGate`) lets at most that many requests in at once, so a request
that waits can still be withdrawn, and a stream whose reader goes away stops llama.cpp at the
next token and frees its slot.

Loading also starts llama.cpp's HTTP listener on 127.0.0.1 (the server cannot be built without
it). It is locked with a random API key that nobody is told, so other local users cannot borrow
the model through it; the direct calls used here do not go through HTTP and need no key.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from core.settings import Settings
from rag.llm.errors import LLMError
from rag.llm.gguf import model_label as gguf_label
from rag.llm.gguf import resolve_gguf
from rag.llm.slots import SlotGate

# llama.cpp log threshold: 0 silences everything (errors too), 1 keeps errors only, 3 (the
# default) prints every load step and per-request timings. Errors stay visible on stderr.
LLAMA_LOG_ERRORS_ONLY = 1

# Request keys a caller may set per call (``llm.invoke(msgs, max_tokens=20)`` or ``.bind``).
_REQUEST_KEYS = frozenset(
    {
        "max_tokens",
        "temperature",
        "seed",
        "top_k",
        "top_p",
        "min_p",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
        "grammar",
        "json_schema",
        "response_format",
        "cache_prompt",
        "n_probs",
        "logit_bias",
        "logprobs",
        "top_logprobs",
    }
)


@dataclass(frozen=True)
class EngineShape:
    """How a model is loaded: what makes two chat models share one engine."""

    path: str
    n_ctx: int  # per slot
    n_threads: int
    n_parallel: int = 1
    prompt_cache_mb: int = 0


@dataclass
class Engine:
    """One loaded model: the llama.cpp server, and the gate in front of its slots."""

    shape: EngineShape
    server: Any  # xllamacpp.Server (no type stubs)
    load_s: float
    gate: SlotGate = field(init=False)

    def __post_init__(self) -> None:
        self.gate = SlotGate(self.shape.n_parallel)

    @property
    def path(self) -> Path:
        return Path(self.shape.path)


_engines: dict[EngineShape, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(shape: EngineShape) -> Engine:
    """The shared engine for this model file and shape, loading it on first use."""
    shape = EngineShape(str(Path(shape.path).resolve()), *astuple(shape)[1:])
    with _engines_lock:  # held while loading: a second caller waits instead of loading twice
        engine = _engines.get(shape)
        if engine is None:
            engine = Engine(shape, *_load(shape))
            _engines[shape] = engine
        return engine


def unload_models() -> None:
    """Forget every loaded model; each is freed once no chat model or request still holds it."""
    with _engines_lock:
        _engines.clear()


def _load(shape: EngineShape) -> tuple[Any, float]:
    import xllamacpp  # heavy native module: only imported when a model is really loaded

    path, n_ctx, n_threads = Path(shape.path), shape.n_ctx, shape.n_threads
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    # llama.cpp splits n_ctx between the slots (the KV cache is not unified): every slot gets
    # the context of the one-slot setup, and each sequence attends only to its own cells.
    params.n_parallel = shape.n_parallel
    params.n_ctx = n_ctx * shape.n_parallel
    params.kv_unified = False
    params.cont_batching = True
    # When a slot takes a new prompt, llama.cpp copies the old one's KV state to RAM (up to 8 GB
    # by default) in case it comes back. Bounded here: the memory budget is the product's.
    params.cache_ram_mib = shape.prompt_cache_mb
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.verbosity = LLAMA_LOG_ERRORS_ONLY
    # Warm-up runs one empty decode at load so the first real answer does not pay for it.
    params.warmup = True
    # Read the weights into process memory instead of mmap-ing the file: mapped pages are
    # page cache, which the kernel (here a DAMON "pageout" scheme) may drop between questions
    # and then re-read from disk in the middle of an answer. Anonymous memory stays put.
    params.load_mode = xllamacpp.llama_load_mode.LLAMA_LOAD_MODE_NONE
    # The HTTP listener cannot be turned off: keep it on loopback, closed with an unknown key,
    # without the web UI, and with as few threads as it allows.
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.api_keys = [secrets.token_urlsafe(32)]
    params.ui = False
    params.n_threads_http = 1
    # Counters read through direct calls (handle_metrics): requests, tokens, slots busy.
    params.endpoint_metrics = True
    start = time.perf_counter()
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:
        raise LLMError(
            f"llama.cpp could not load the model {path} (n_ctx={n_ctx}, threads={n_threads}, "
            f"slots={shape.n_parallel}): {exc}; the lines marked 'E' on stderr say why"
        ) from exc
    return server, time.perf_counter() - start


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as OpenAI chat roles (system / user / assistant)."""
    out = []
    for msg in messages:
        if isinstance(msg, SystemMessage):
            role = "system"
        elif isinstance(msg, HumanMessage):
            role = "user"
        elif isinstance(msg, AIMessage):
            role = "assistant"
        elif isinstance(msg, ChatMessage) and msg.role in {"system", "user", "assistant"}:
            role = msg.role
        else:
            raise LLMError(f"the embedded LLM cannot take a {msg.type!r} message (no tool calling)")
        # .text joins text content blocks, so list-style content works too.
        out.append({"role": role, "content": msg.text})
    return out


class ChatXLlamaCpp(BaseChatModel):
    """A GGUF model run in-process by llama.cpp (``xllamacpp``), streaming token by token.

    Per-call keyword arguments (``invoke(..., max_tokens=32, grammar=...)``) override the fields.
    ``grammar`` (GBNF) or ``json_schema`` constrain the output; with ``temperature == 0`` the
    sampling is greedy (``top_k = 1``) and answers are reproducible. ``logprobs=True,
    top_logprobs=N`` returns each token's probability and its N likeliest alternatives in
    ``response_metadata["logprobs"]`` (per chunk when streaming), as langchain-openai does; they
    are the model's own probabilities, before the grammar's constraint.
    """

    model_path: str = Field(description="Path of the GGUF file.")
    model_name: str = Field("local-gguf", description="Human name, reported in metadata.")
    n_ctx: int = Field(4096, ge=256, description="Context window of each slot.")
    n_threads: int = Field(2, ge=1)
    n_parallel: int = Field(1, ge=1, description="Slots: requests decoded together.")
    prompt_cache_mb: int = Field(0, ge=0, description="RAM for llama.cpp's cache of evicted prompts.")
    max_tokens: int | None = Field(160, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    seed: int | None = 42
    top_k: int | None = Field(None, description="Default: 1 when temperature is 0, else llama.cpp's.")
    top_p: float | None = None
    stop: list[str] | None = None
    grammar: str | None = Field(None, description="GBNF grammar constraining every answer.")
    json_schema: dict[str, Any] | None = Field(None, description="JSON schema for every answer.")
    cache_prompt: bool = Field(True, description="Reuse the KV cache of a shared prompt prefix.")
    streaming: bool = Field(
        False, description="Generate through _stream even in invoke(), so callbacks see tokens."
    )

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "model_name": self.model_name,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "stop": self.stop,
            "grammar": self.grammar,
            "json_schema": self.json_schema,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "llamacpp"
        params["ls_model_name"] = self.model_name
        return params

    @property
    def engine(self) -> Engine:
        """The shared loaded model (loaded on first access)."""
        return get_engine(
            EngineShape(self.model_path, self.n_ctx, self.n_threads, self.n_parallel, self.prompt_cache_mb)
        )

    def load(self) -> ChatXLlamaCpp:
        """Load the model now rather than at the first question; returns ``self``."""
        _ = self.engine
        return self

    # --- requests -----------------------------------------------------------------------------

    def build_request(
        self, messages: Sequence[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The OpenAI-style request sent to llama.cpp for these messages and call options."""
        kwargs.pop("stream", None)  # LangChain may forward its own stream flag; we decide
        unknown = set(kwargs) - _REQUEST_KEYS
        if unknown:
            raise TypeError(f"ChatXLlamaCpp got unknown option(s): {', '.join(sorted(unknown))}")
        opts: dict[str, Any] = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "grammar": self.grammar,
            "json_schema": self.json_schema,
            "cache_prompt": self.cache_prompt,
        }
        opts.update(kwargs)
        if opts.get("temperature") == 0 and opts.get("top_k") is None:
            opts["top_k"] = 1  # greedy: the same prompt always gives the same answer
        if opts.get("grammar") and opts.get("json_schema"):
            raise ValueError("give either grammar or json_schema, not both")
        stops = [*(self.stop or []), *(stop or [])]
        request: dict[str, Any] = {"messages": to_openai_messages(messages)}
        request.update({k: v for k, v in opts.items() if v is not None})
        if stops:
            request["stop"] = stops
        return request

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self.build_request(messages, stop, **kwargs)
        engine = self.engine
        with engine.gate.slot():
            response = engine.server.handle_chat_completions(request)
        _raise_for_error(response)
        choice = response["choices"][0]
        text = choice["message"].get("content") or ""
        metadata = self._metadata(response, choice.get("finish_reason"))
        if choice.get("logprobs"):
            metadata["logprobs"] = choice["logprobs"]  # the shape langchain-openai gives too
        message = AIMessage(
            content=text, response_metadata=metadata, usage_metadata=_usage(response.get("usage"))
        )
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=metadata)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self.build_request(messages, stop, **kwargs)
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
        engine = self.engine
        # llama.cpp calls back from inside a blocking call: run it in a worker thread and hand
        # the chunks over through a queue, so tokens reach the caller as they are made.
        chunks: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            # Must not raise: xllamacpp swallows callback errors. True asks llama.cpp to stop.
            chunks.put(("chunk", chunk))
            return cancel.is_set()

        def work() -> None:
            try:
                # A reader that leaves while waiting for a slot never reaches llama.cpp.
                if engine.gate.acquire(cancel):
                    try:
                        if not cancel.is_set():
                            engine.server.handle_chat_completions(request, on_chunk)
                    finally:
                        engine.gate.release()
            except BaseException as exc:
                chunks.put(("error", exc))
            finally:
                chunks.put(("done", None))

        worker = threading.Thread(target=work, name="xllamacpp-stream", daemon=True)
        worker.start()
        finish_reason: str | None = None
        usage: dict[str, Any] | None = None
        timings: dict[str, Any] | None = None
        try:
            while True:
                kind, item = chunks.get()
                if kind == "done":
                    break
                if kind == "error":
                    raise LLMError(f"the embedded LLM failed: {item}") from item
                _raise_for_error(item)
                usage = item.get("usage") or usage
                timings = item.get("timings") or timings
                for choice in item.get("choices") or []:
                    finish_reason = choice.get("finish_reason") or finish_reason
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        # No run_manager.on_llm_new_token here: langchain-core 1.x emits the
                        # token events for every chunk yielded from _stream itself.
                        # Token probabilities ride in generation_info, as langchain-openai's do.
                        logprobs = choice.get("logprobs")
                        yield ChatGenerationChunk(
                            message=AIMessageChunk(content=text),
                            generation_info={"logprobs": logprobs} if logprobs else None,
                        )
        finally:
            # Also reached when the caller stops iterating early (the user left): returning
            # True from the next callback ends llama.cpp's request, which frees its slot; wait
            # for that, so the slot is free when this returns.
            cancel.set()
            worker.join()
        metadata = self._metadata({"usage": usage, "timings": timings}, finish_reason)
        # The closing chunk carries what is only known at the end (LangChain merges it in).
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                chunk_position="last",
                response_metadata=metadata,
                usage_metadata=_usage(usage),
            ),
            generation_info=metadata,
        )

    def _metadata(self, response: Mapping[str, Any], finish_reason: str | None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"model_name": self.model_name, "finish_reason": finish_reason}
        for key in ("usage", "timings"):
            if response.get(key):
                metadata[key] = response[key]
        return metadata


def _raise_for_error(response: Mapping[str, Any]) -> None:
    """llama.cpp reports a rejected request (bad grammar, prompt too long...) as ``{"error"}``."""
    error = response.get("error")
    if error is None and response.get("type") == "server_error":  # xllamacpp's own JSON failure
        error = response
    if error is not None:
        message = str(error.get("message", error) if isinstance(error, Mapping) else error)
        if "context size" in message:
            message += " (RAG_LLM_CTX sets it; fewer or shorter passages also help)"
        raise LLMError(f"the embedded LLM rejected the request: {message}")


def _usage(usage: Mapping[str, Any] | None) -> UsageMetadata | None:
    if not usage:
        return None
    return UsageMetadata(
        input_tokens=int(usage.get("prompt_tokens", 0)),
        output_tokens=int(usage.get("completion_tokens", 0)),
        total_tokens=int(usage.get("total_tokens", 0)),
    )


def make_embedded_chat(settings: Settings, *, load: bool = True) -> ChatXLlamaCpp:
    """The embedded chat model for ``settings``: the GGUF is assembled or checked now, and the
    model loaded now unless ``load=False`` (then at the first question)."""
    path = resolve_gguf(settings)
    llm = ChatXLlamaCpp(
        model_path=str(path),
        model_name=gguf_label(settings),
        n_ctx=settings.llm_ctx,
        n_threads=settings.llm_threads,
        n_parallel=settings.llm_parallel,
        prompt_cache_mb=settings.llm_prompt_cache_mb,
        max_tokens=settings.max_answer_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
        streaming=True,  # like the openai backend: token callbacks fire under invoke() too
    )
    return llm.load() if load else llm
