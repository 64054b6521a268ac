"""The embedded backend with the real Qwen2.5-Coder-0.5B model (about 1 s a generation)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from core.settings import PROJECT_ROOT, Settings
from rag.llm import LLMError, make_llm, model_label
from rag.llm.embedded import ChatXLlamaCpp, to_openai_messages, unload_models

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


def metrics(llm: ChatXLlamaCpp) -> dict[str, float]:
    """llama.cpp's own counters (Prometheus text), read by a direct call."""
    out = {}
    for line in llm.engine.server.handle_metrics().splitlines():
        if line.startswith("llamacpp:"):
            name, value = line.split()
            out[name.removeprefix("llamacpp:")] = float(value)
    return out


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


COUNT = "Count from 1 to 100, separated by spaces."


def test_stopping_a_stream_early_stops_llama_cpp_and_frees_the_slot(llm: ChatXLlamaCpp) -> None:
    before = metrics(llm)["tokens_predicted_total"]
    stream = llm.stream(COUNT, max_tokens=150)
    next(stream), next(stream)
    stream.close()  # the reader went away (the user left or started a new chat)
    assert llm.engine.gate.busy == 0
    wait_for(lambda: metrics(llm)["requests_processing"] == 0)
    # llama.cpp stopped at the next token instead of writing all 150.
    assert metrics(llm)["tokens_predicted_total"] - before < 20
    assert "Paris" in llm.invoke(FRANCE).content


@pytest.fixture(scope="module")
def two_slots(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[ChatXLlamaCpp]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), cache_dir=model_cache, llm_parallel=2)
    model = make_llm(settings)
    assert isinstance(model, ChatXLlamaCpp) and model.engine.gate.slots == 2
    yield model
    unload_models()


def test_two_slots_decode_two_requests_together(two_slots: ChatXLlamaCpp) -> None:
    prompts = ["In two sentences, what is the Eiffel Tower?", "In two sentences, what is the Colosseum?"]
    arrivals: dict[int, list[float]] = {0: [], 1: []}
    texts: dict[int, str] = {}

    def ask(i: int) -> None:
        parts = []
        for chunk in two_slots.stream(prompts[i], max_tokens=40):
            if chunk.content:
                arrivals[i].append(time.monotonic())
                parts.append(str(chunk.content))
        texts[i] = "".join(parts)

    threads = [threading.Thread(target=ask, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    # Decoded together: each got tokens while the other was still writing.
    assert arrivals[1][0] < arrivals[0][-1] and arrivals[0][0] < arrivals[1][-1]
    # Each stream carries its own answer. (Not always word for word the answer it gets alone:
    # batched matrix products round differently, which can flip a near-tie of greedy decoding.)
    assert "Paris" in texts[0] and "Rome" in texts[1]


def test_more_requests_than_slots_wait_in_line_outside_llama_cpp(two_slots: ChatXLlamaCpp) -> None:
    done: list[int] = []

    def ask(i: int) -> None:
        two_slots.invoke(COUNT if i < 2 else FRANCE, max_tokens=60 if i < 2 else 8)
        done.append(i)

    threads = []
    for i in range(3):
        threads.append(threading.Thread(target=ask, args=(i,)))
        threads[-1].start()
        wait_for(lambda i=i: two_slots.engine.gate.busy == min(i + 1, 2))
    # The third waits in the gate, where it can still be withdrawn, not in llama.cpp's queue.
    wait_for(lambda: two_slots.engine.gate.waiting == 1)
    assert metrics(two_slots)["requests_deferred"] == 0 and 2 not in done
    for t in threads:
        t.join(timeout=600)
    assert sorted(done) == [0, 1, 2] and done.index(2) > 0  # it went in once a slot was free
    assert two_slots.engine.gate.busy == 0 and two_slots.engine.gate.waiting == 0


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
