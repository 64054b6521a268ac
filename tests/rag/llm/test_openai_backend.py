"""The OpenAI-compatible backend against a real llama.cpp server on loopback, in its own process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from core.settings import Settings
from rag.llm import LLMError, llm_error_message, make_llm, model_label
from rag.llm.gguf import MODELS, ensure_model
from rag.llm.openai import check_endpoint

pytestmark = pytest.mark.slow

API_KEY = "test-key-123"

# llama.cpp's own server (the one xllamacpp embeds) serving the model over HTTP on 127.0.0.1
# at a port the OS picks. It prints its address once the model is loaded and runs until its
# standard input closes, so it cannot outlive the test run.
SERVER_SCRIPT = """
import sys
import xllamacpp

params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.n_ctx = 2048
params.cpuparams.n_threads = 2
params.cpuparams_batch.n_threads = 2
params.verbosity = 1
params.hostnames = ["127.0.0.1"]
params.port = 0
params.api_keys = [sys.argv[2]]
params.ui = False
server = xllamacpp.Server(params)
print(server.listening_address, flush=True)
sys.stdin.read()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > end:
                raise
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server_url(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = ensure_model(MODELS["0.5b"], model_cache)
    log = tmp_path_factory.mktemp("llama-server") / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_SCRIPT, str(model), API_KEY],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()  # blocks until the model is loaded
        assert address.startswith("http://127.0.0.1:"), f"server did not start: {log.read_text()}"
        wait_for_health(address, deadline_s=60)
        yield address
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def remote(make_settings: Callable[..., Settings], server_url: str) -> Settings:
    return make_settings(
        llm_backend="openai",
        llm_base_url=f"{server_url}/v1",
        llm_api_key=API_KEY,
        llm_model_name="qwen-0.5b",
        llm_timeout_s=60,
    )


def test_streams_an_answer_from_the_endpoint(remote: Settings) -> None:
    llm = make_llm(remote)
    assert isinstance(llm, ChatOpenAI)
    chunks = list(llm.stream("What is the capital of France? Answer in one word."))
    text = "".join(str(c.content) for c in chunks)
    assert "Paris" in text
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.usage_metadata is not None and merged.usage_metadata["input_tokens"] > 5


def test_answer_arrives_in_pieces_and_max_tokens_holds(remote: Settings) -> None:
    llm = make_llm(remote.model_copy(update={"max_answer_tokens": 8}))
    pieces = [c.content for c in llm.stream("Count from 1 to 100, separated by spaces.") if c.content]
    assert len(pieces) > 1
    answer = llm.invoke("Count from 1 to 100, separated by spaces.")
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] == 8
    assert answer.response_metadata["finish_reason"] == "length"
    assert answer.content == "".join(pieces)  # greedy and seeded: same answer both ways


def test_check_endpoint_and_a_wrong_key(remote: Settings) -> None:
    assert len(check_endpoint(remote)) == 1
    wrong = remote.model_copy(update={"llm_api_key": "not-the-key"})
    with pytest.raises(LLMError, match="RAG_LLM_API_KEY"):
        check_endpoint(wrong)
    with pytest.raises(LLMError, match="refused the API key"):
        make_llm(wrong).invoke("hi")


def test_unreachable_endpoint_is_a_clear_llm_error(make_settings: Callable[..., Settings]) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    settings = make_settings(llm_backend="openai", llm_base_url=url, llm_timeout_s=10)
    llm = make_llm(settings)  # building it does not connect
    for call in (lambda: llm.invoke("hi"), lambda: list(llm.stream("hi"))):
        with pytest.raises(LLMError) as info:
            call()
        message = str(info.value)
        assert url in message
        assert "is the server running? check RAG_LLM_BASE_URL" in message
        assert "refused" in message.lower()
        # The chain's helper gives the same words for the raw client error.
        assert llm_error_message(info.value.__cause__, settings) == message
    with pytest.raises(LLMError, match="cannot reach the LLM endpoint"):
        check_endpoint(settings)


def test_model_label(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        llm_backend="openai", llm_base_url="http://127.0.0.1:8000/v1", llm_model_name="qwen2.5-7b"
    )
    assert model_label(settings) == "qwen2.5-7b @ http://127.0.0.1:8000/v1"
    assert llm_error_message(ValueError("boom"), settings) == "the LLM failed: ValueError: boom"
