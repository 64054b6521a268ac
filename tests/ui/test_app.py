"""The Blocks app's wiring, in-process with a fake engine: safe Chatbot settings, as many answers at
once as the model has slots, the rest queued, a new chat cancelling the answer being made, launch
options. The real model and a real browser are in the e2e tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import pytest
from gradio_client import Client

from rag.engine import AnswerEvent, TokenEvent
from rag.types import Turn
from tests.servers import free_port
from tests.ui.helpers import FakeEngine, FakeIndex, document
from ui.app import EXAMPLE_QUESTIONS, QUEUE_MAX_SIZE, build_app, launch_options


class SlowEngine(FakeEngine):
    """Takes a while per token and records how many answers ran at once."""

    def __init__(self) -> None:
        super().__init__(FakeIndex(document()), tokens=["a ", "b ", "c"])
        self.active = 0
        self.most_active = 0
        self.lock = threading.Lock()

    def stream(self, question: str, history: list[Turn] | None = None) -> Iterator[TokenEvent | AnswerEvent]:
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            for event in super().stream(question, history):
                time.sleep(0.15)
                yield event
        finally:
            with self.lock:
                self.active -= 1


def components(app: gr.Blocks, kind: type) -> list:
    return [b for b in app.blocks.values() if isinstance(b, kind)]


def test_chatbot_never_renders_raw_html_or_markdown(settings) -> None:
    app = build_app(settings, FakeEngine(FakeIndex(document())))
    (chatbot,) = components(app, gr.Chatbot)
    assert chatbot.sanitize_html is True
    assert chatbot.render_markdown is False
    assert chatbot.allow_tags is False
    assert [e["text"] for e in chatbot.examples] == list(EXAMPLE_QUESTIONS)


def test_answers_run_as_many_at_once_as_the_model_has_slots(make_settings) -> None:
    for slots in (1, 6):
        app = build_app(make_settings(llm_parallel=slots), FakeEngine(FakeIndex(document())))
        answering = [f for f in app.fns.values() if f.name in ("respond", "ask_example")]
        assert len(answering) == 2
        assert {f.concurrency_limit for f in answering} == {slots}
        assert len({f.concurrency_id for f in answering}) == 1  # one limit shared by both triggers
        assert app._queue.max_size == QUEUE_MAX_SIZE >= 100


def test_a_new_chat_cancels_the_answer_being_made(settings) -> None:
    app = build_app(settings, FakeEngine(FakeIndex(document())))
    fns = list(app.fns.values())
    (new_chat,) = [f for f in fns if f.name == "new_chat"]
    answering = {f._id for f in fns if f.name in ("respond", "ask_example")}
    # Gradio wires `cancels` as a second function on the same click, naming the events it stops.
    cancellers = [f for f in fns if f.is_cancel_function and f.targets == new_chat.targets]
    assert len(cancellers) == 1
    assert set(cancellers[0].cancels) == answering


def test_launch_options_bind_loopback_and_use_auth_when_set(make_settings) -> None:
    options = launch_options(make_settings())
    assert options["server_name"] == "127.0.0.1" and options["share"] is False
    assert options["auth"] is None and options["ssr_mode"] is False
    secured = launch_options(make_settings(ui_username="ann", ui_password="pw", ui_port=9001))
    assert secured["auth"] == ("ann", "pw") and secured["server_port"] == 9001


@pytest.fixture
def served(make_settings) -> Iterator[tuple[str, SlowEngine]]:
    engine = SlowEngine()
    settings = make_settings(llm_parallel=2)
    app = build_app(settings, engine)
    port = free_port()
    options = {**launch_options(settings), "server_port": port, "prevent_thread_lock": True, "quiet": True}
    app.launch(**options)
    try:
        yield f"http://127.0.0.1:{port}/", engine
    finally:
        app.close()


def test_simultaneous_users_are_served_in_turn_without_errors(served) -> None:
    url, engine = served

    def ask(i: int) -> tuple[list, str]:
        client = Client(url, verbose=False)
        conv = client.predict("", api_name="/restore")[2]
        result = client.predict(f"Question number {i}?", conv, api_name="/ask")
        return result[0], conv

    started = time.monotonic()
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(ask, range(5)))
    assert time.monotonic() - started < 60
    for i, (messages, _conv) in enumerate(results):
        assert f"Question number {i}?" in messages[0]["content"][0]["text"]
        assert 'class="cite-chip"' in messages[1]["content"][0]["text"]
    assert len({conv for _, conv in results}) == 5
    assert engine.most_active == 2  # two slots: two answers at once, never more
