"""The embedded backend with the real Qwen2.5-Coder-0.5B model (about 1 s a generation)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from core.settings import PROJECT_ROOT, Settings
from rag.llm import LLMError, make_llm, model_label
from rag.llm.embedded import ChatXLlamaCpp, to_openai_messages

pytestmark = pytest.mark.slow

FRANCE = "What is the capital of France? Answer in one word."


@pytest.fixture
def llm(settings: Settings) -> ChatXLlamaCpp:
    model = make_llm(settings)
    assert isinstance(model, ChatXLlamaCpp)
    return model


class TokenCollector(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_factual_answer(llm: ChatXLlamaCpp) -> None:
    collector = TokenCollector()
    answer = llm.invoke(FRANCE, config={"callbacks": [collector]})
    assert "Paris" in answer.content
    assert "".join(collector.tokens) == answer.content  # invoke() streams to callbacks too
    assert answer.response_metadata["finish_reason"] == "stop"
    assert answer.response_metadata["timings"]["predicted_n"] >= 1
    assert answer.usage_metadata is not None and answer.usage_metadata["input_tokens"] > 5


def test_stream_equals_greedy_answer_and_greedy_is_deterministic(llm: ChatXLlamaCpp) -> None:
    prompt = [
        SystemMessage("You are a concise assistant."),
        HumanMessage("In two sentences, what is the Eiffel Tower?"),
    ]
    # stream=False takes the plain, non-streaming request path (_generate).
    first = llm.invoke(prompt, max_tokens=40, stream=False).content
    second = llm.invoke(prompt, max_tokens=40, stream=False).content
    assert first == second
    arrivals: list[float] = []
    texts: list[str] = []
    start = time.perf_counter()
    last = None
    for chunk in llm.stream(prompt, max_tokens=40):
        last = chunk
        if chunk.content:
            arrivals.append(time.perf_counter() - start)
            texts.append(chunk.content)
    assert len(texts) > 1
    assert "".join(texts) == first
    # Tokens arrive while the answer is being written, not all at once at the end.
    assert arrivals[-1] - arrivals[0] > 0.05
    assert last is not None and last.usage_metadata is not None
    # One chunk a token, except where a token ends inside a multi-byte character.
    assert last.usage_metadata["output_tokens"] >= len(texts)


def test_max_tokens_is_respected(llm: ChatXLlamaCpp) -> None:
    answer = llm.invoke("Count from 1 to 100, separated by spaces.", max_tokens=5)
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_tokens"] == 5
    assert answer.response_metadata["finish_reason"] == "length"
    assert len(answer.content.split()) <= 5


def test_stop_sequence(llm: ChatXLlamaCpp) -> None:
    answer = llm.invoke("List the numbers from 1 to 10 separated by commas.", stop=[","], max_tokens=30)
    assert answer.content.strip()
    assert "," not in answer.content
    assert answer.response_metadata["finish_reason"] == "stop"


def test_grammar_and_json_schema_constrain_the_output(llm: ChatXLlamaCpp) -> None:
    yes_no = llm.invoke("Is Paris in France?", grammar='root ::= "yes" | "no"')
    assert yes_no.content in {"yes", "no"}
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    structured = llm.invoke(FRANCE, json_schema=schema, max_tokens=30)
    assert set(json.loads(structured.content)) == {"city"}


def test_rejected_request_is_an_llm_error(llm: ChatXLlamaCpp) -> None:
    with pytest.raises(LLMError, match="failed to parse grammar"):
        llm.invoke(FRANCE, grammar='root ::= ("yes"')
    with pytest.raises(LLMError, match="failed to parse grammar"):
        list(llm.stream(FRANCE, grammar='root ::= ("yes"'))
    with pytest.raises(TypeError, match="max_tokenz"):
        llm.invoke(FRANCE, max_tokenz=3)


def test_too_long_a_prompt_is_an_llm_error(llm: ChatXLlamaCpp) -> None:
    with pytest.raises(LLMError, match=r"exceeds the available context size.*RAG_LLM_CTX"):
        llm.invoke("hello " * 5000)  # rejected before any token is computed


def test_async_stream(llm: ChatXLlamaCpp) -> None:
    async def collect() -> list[str]:
        return [str(c.content) async for c in llm.astream(FRANCE)]

    assert "Paris" in "".join(asyncio.run(collect()))


def test_stopping_a_stream_early_frees_the_model(llm: ChatXLlamaCpp) -> None:
    stream = llm.stream("Count from 1 to 100, separated by spaces.", max_tokens=150)
    next(stream)
    stream.close()  # the reader went away (say, the user pressed stop)
    assert not llm.engine.lock.locked()
    assert "Paris" in llm.invoke(FRANCE).content


def test_the_model_is_loaded_once_and_shared(settings: Settings) -> None:
    first, second = make_llm(settings), make_llm(settings.model_copy(update={"temperature": 0.7}))
    assert isinstance(first, ChatXLlamaCpp) and isinstance(second, ChatXLlamaCpp)
    assert first is not second
    assert first.engine is second.engine
    assert first.engine.server is second.engine.server
    assert model_label(settings) == "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (embedded)"


def test_http_listener_of_llama_cpp_is_closed_to_others(llm: ChatXLlamaCpp) -> None:
    address = llm.engine.server.listening_address
    assert address.startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{address}/v1/models", timeout=10)
    assert info.value.code == 401


def test_message_roles() -> None:
    messages = [SystemMessage("s"), HumanMessage("u"), AIMessage("a"), HumanMessage("u2")]
    assert to_openai_messages(messages) == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "u2"},
    ]
    with pytest.raises(LLMError, match="tool"):
        to_openai_messages([ToolMessage("x", tool_call_id="1")])


def test_unloadable_gguf_is_an_llm_error(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(range(256)) * 4)
    with pytest.raises(LLMError, match="could not load the model"):
        make_llm(make_settings(llm_model=str(broken)))


def test_llama_cpp_is_quiet_on_stderr(settings: Settings) -> None:
    # A fresh process, so the model load itself is watched too.
    code = (
        "import core.offline\n"
        "from core.settings import Settings\n"
        "from rag.llm import make_llm\n"
        f"s = Settings(data_dir={str(settings.data_dir)!r}, cache_dir={str(settings.models_dir)!r})\n"
        f"print(make_llm(s).invoke({FRANCE!r}, max_tokens=4).content)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout
    assert done.stderr == ""
